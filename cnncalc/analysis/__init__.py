"""Analysis: per-layer shapes, parameters and buffers, and the conditions for validity."""
