"""Explicit limits that keep hostile or runaway input bounded in time and memory."""

MAX_FILE_BYTES = 4 * 2**20
"""Largest architecture file read."""

MAX_YAML_NODES = 500_000
"""Most YAML values after alias expansion."""

MAX_NODES = 100_000
"""Most layers in the expanded network (after blocks and repeat)."""

MAX_REPEAT = 10_000
"""Largest ``repeat:`` count."""

MAX_BLOCK_DEPTH = 32
"""Deepest nesting of block uses."""

MAX_EXPR_CHARS = 256
"""Longest expression text."""

MAX_INT = 2**40
"""Largest integer magnitude accepted in a file or produced by an expression."""
