"""User strings made safe to show: no terminal escape sequence, no invisible reordering.

A network's ``name:``, a Python module's name, a file name or a message quoting them reaches a
terminal. Control characters (ESC starts a terminal escape sequence; a carriage return rewrites
the line), the C1 controls and the bidirectional overrides (which reorder what is shown) are
written as ``\\u001b``-style escapes instead: visible, and still valid inside JSON strings. Rich
markup (``[bold red]``) is never interpreted in what cnncalc prints (the renderers pass ``Text``).
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _escape(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04x}"


def visible(text: str) -> str:
    """``text`` with control and bidirectional-override characters escaped; new lines and tabs kept."""
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def one_line(text: str) -> str:
    """Like :func:`visible`, new lines and tabs escaped too: a name, a cell, one line of an error."""
    return _UNSAFE_LINE.sub(_escape, text) if _UNSAFE_LINE.search(text) else text
