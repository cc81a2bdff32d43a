"""Python model targets (``model.py:Net``, ``package.module:factory``): import, run with hooks, check.

The flow mirrors the YAML side: :mod:`.load` and :mod:`.inputs` turn the command
line into a model and input specs (the parse step), :mod:`.trace` runs one
hooked forward pass, :mod:`.fxspec` turns a traceable model into an
architecture spec for the symbolic engine, :mod:`.crash` and :mod:`.batch`
explain what went wrong. Importing a target executes its code, as pytest does.
"""

from __future__ import annotations

from pathlib import Path


def is_python_target(text: str) -> bool:
    """Whether ``text`` names a Python target rather than an architecture file."""
    path = text.rsplit(":", 1)[0] if has_attr(text) else text
    if path.endswith((".yaml", ".yml")):
        return False
    return path.endswith(".py") or has_attr(text) or (not Path(path).exists() and "." in path and "/" not in path)


def has_attr(text: str) -> bool:
    """Whether ``text`` ends in ``:Name`` (and is not a Windows drive letter)."""
    head, sep, tail = text.rpartition(":")
    return bool(sep) and bool(head) and bool(tail) and not (len(head) == 1 and tail.startswith("\\"))


__all__ = ["has_attr", "is_python_target"]
