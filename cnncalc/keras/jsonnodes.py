"""JSON text -> the located ``Y*`` nodes of parse/yamlnodes.py, so that a Keras config's values carry line:col.

A Keras ``config.json`` or ``model.to_json()`` output is JSON, which PyYAML (YAML 1.1) does not read
faithfully (``1e-05`` is a string to it). This small recursive-descent reader follows the JSON grammar
(plus Python's ``NaN`` and ``Infinity``, which ``json.dumps`` writes) and records where each value starts.
"""

from __future__ import annotations

import bisect
import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]

from ..errors import CnnCalcError, Loc
from ..parse.limits import MAX_YAML_NODES
from ..parse.yamlnodes import YMap, YNode, YScalar, YSeq

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_SPACE = re.compile(r"[ \t\n\r]*")
_WORDS = {"true": True, "false": False, "null": None, "NaN": float("nan"), "Infinity": float("inf"),
          "-Infinity": float("-inf")}  # fmt: skip
MAX_DEPTH = 200


class _Reader:
    def __init__(self, text: str, file: str) -> None:
        self.text, self.file = text, file
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.budget = MAX_YAML_NODES

    def loc(self, pos: int) -> Loc:
        line = bisect.bisect_right(self.starts, pos)
        return Loc(self.file, line, pos - self.starts[line - 1] + 1)

    def fail(self, message: str, pos: int) -> CnnCalcError:
        return CnnCalcError(f"invalid JSON: {message}", self.loc(pos), "the file is not a Keras model config")

    def skip(self, pos: int) -> int:
        m = _SPACE.match(self.text, pos)
        return m.end() if m else pos

    def value(self, pos: int, depth: int) -> tuple[YNode, int]:
        self.budget -= 1
        if self.budget < 0:
            raise self.fail(f"more than {MAX_YAML_NODES} values", pos)
        if depth > MAX_DEPTH:
            raise self.fail(f"nesting deeper than {MAX_DEPTH} levels", pos)
        pos = self.skip(pos)
        if pos >= len(self.text):
            raise self.fail("the text ends where a value was expected", pos)
        c, loc = self.text[pos], self.loc(pos)
        if c == "{":
            return self.mapping(pos, depth)
        if c == "[":
            items: list[YNode] = []
            pos = self.skip(pos + 1)
            if self.text.startswith("]", pos):
                return YSeq((), loc), pos + 1
            while True:
                item, pos = self.value(pos, depth + 1)
                items.append(item)
                pos = self.skip(pos)
                if self.text.startswith(",", pos):
                    pos += 1
                elif self.text.startswith("]", pos):
                    return YSeq(tuple(items), loc), pos + 1
                else:
                    raise self.fail("expected ',' or ']' in a list", pos)
        if c == '"':
            try:
                s, end = scanstring(self.text, pos + 1)
            except json.JSONDecodeError as e:
                raise self.fail(e.msg, e.pos) from None
            return YScalar(s, loc), end
        for word, v in _WORDS.items():
            if self.text.startswith(word, pos):
                return YScalar(v, loc), pos + len(word)
        m = _NUMBER.match(self.text, pos)
        if m:
            number: int | float = float(m.group()) if m.group(1) or m.group(2) else int(m.group())
            return YScalar(number, loc), m.end()
        raise self.fail(f"unexpected character {c!r}", pos)

    def mapping(self, pos: int, depth: int) -> tuple[YNode, int]:
        loc = self.loc(pos)
        items: list[tuple[YScalar, YNode]] = []
        seen: set[str] = set()
        pos = self.skip(pos + 1)
        if self.text.startswith("}", pos):
            return YMap((), loc), pos + 1
        while True:
            pos = self.skip(pos)
            if not self.text.startswith('"', pos):
                raise self.fail("expected a quoted key", pos)
            key, value_start = self.value(pos, depth + 1)
            assert isinstance(key, YScalar) and isinstance(key.value, str)
            pos = self.skip(value_start)
            if not self.text.startswith(":", pos):
                raise self.fail("expected ':' after a key", pos)
            value, pos = self.value(pos + 1, depth + 1)
            if key.value in seen:
                raise CnnCalcError(f"duplicate key {key.value!r}", key.loc, "JSON keeps only one of them")
            seen.add(key.value)
            items.append((key, value))
            pos = self.skip(pos)
            if self.text.startswith(",", pos):
                pos += 1
            elif self.text.startswith("}", pos):
                return YMap(tuple(items), loc), pos + 1
            else:
                raise self.fail("expected ',' or '}' in an object", pos)


def load_json(text: str, file: str) -> YNode:
    """One JSON document as located nodes, or a located CnnCalcError."""
    reader = _Reader(text, file)
    node, end = reader.value(0, 0)
    end = reader.skip(end)
    if end != len(text):
        raise reader.fail("extra text after the document", end)
    return node


def plain(node: YNode) -> object:
    """The node as plain Python values (dicts, lists, scalars)."""
    if isinstance(node, YMap):
        return {str(k.value): plain(v) for k, v in node.items}
    if isinstance(node, YSeq):
        return [plain(v) for v in node.items]
    return node.value


def located(value: object, loc: Loc) -> YNode:
    """Plain values (a live model's ``get_config()``) as nodes, all at one location."""
    if isinstance(value, dict):
        return YMap(tuple((YScalar(str(k), loc), located(v, loc)) for k, v in value.items()), loc)
    if isinstance(value, (list, tuple)):
        return YSeq(tuple(located(v, loc) for v in value), loc)
    if value is None or isinstance(value, (str, int, float, bool)):
        return YScalar(value, loc)
    return YScalar(str(value), loc)  # a numpy scalar, a dtype: shown as text


__all__ = ["load_json", "located", "plain"]
