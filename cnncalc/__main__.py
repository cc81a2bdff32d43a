"""``python -m cnncalc``."""

from .cli import entry

entry()
