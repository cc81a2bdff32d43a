"""Rendering a report: rich table, JSON, Markdown, CSV. Formats share one row model."""
