"""Verification: build the network in torch, run a real forward pass, compare every number."""
