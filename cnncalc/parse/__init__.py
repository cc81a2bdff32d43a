"""Parsing: YAML text -> located nodes -> immutable architecture spec."""
