"""Safe YAML loading that keeps the line and column of every value.

PyYAML's composer gives us nodes with marks; we turn them into small frozen
``Y*`` objects ourselves, so we can reject what a safe architecture file never
needs (custom tags, duplicate keys, YAML 1.1 surprises such as ``no`` meaning
false) and bound the cost of alias expansion ("billion laughs").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from ..errors import CnnCalcError, Loc
from .limits import MAX_FILE_BYTES, MAX_YAML_NODES

try:  # libyaml is much faster on large files; same node graph either way.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Scalar = str | int | float | bool | None

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}
_RESOLVER = yaml.resolver.Resolver()  # the tag a scalar has by itself, as the safe loader resolves it
_DECIMAL_INT = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")


@dataclass(frozen=True)
class YScalar:
    """A scalar value with its location."""

    value: Scalar
    loc: Loc


@dataclass(frozen=True)
class YSeq:
    """A sequence with its location."""

    items: tuple[YNode, ...]
    loc: Loc


@dataclass(frozen=True)
class YMap:
    """A mapping with string keys, in file order, with its location."""

    items: tuple[tuple[YScalar, YNode], ...]
    loc: Loc

    def keys(self) -> list[str]:
        """The keys, in file order."""
        return [str(k.value) for k, _ in self.items]

    def get(self, key: str) -> YNode | None:
        """The value under ``key``, or None."""
        for k, v in self.items:
            if k.value == key:
                return v
        return None

    def key_loc(self, key: str) -> Loc:
        """Where ``key`` is written (the mapping's location if absent)."""
        for k, _ in self.items:
            if k.value == key:
                return k.loc
        return self.loc


YNode = YScalar | YSeq | YMap


def describe(node: YNode) -> str:
    """A short name for what a node is, for 'expected X, found Y' messages."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    v = node.value
    if v is None:
        return "null"
    if isinstance(v, bool):
        return f"the boolean {str(v).lower()}"
    if isinstance(v, int):
        return f"the integer {v}"
    if isinstance(v, float):
        return f"the number {v!r}"
    return f"the string {v!r}"


def _loc(file: str, node: yaml.Node) -> Loc:
    mark = node.start_mark
    return Loc(file, mark.line + 1, mark.column + 1)


def load_yaml(text: str, file: str) -> YNode:
    """Parse one YAML document into located nodes, or raise CnnCalcError."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise CnnCalcError(
            f"file is {len(text) / 1e6:.1f} MB, larger than the {MAX_FILE_BYTES // 2**20} MiB limit",
            Loc(file, 1, 1),
            "architecture files are small; generate repeated layers with 'repeat:' or blocks",
        )
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = Loc(file, mark.line + 1, mark.column + 1) if mark else Loc(file, 1, 1)
        problem = (e.problem or e.context or "invalid YAML").strip()
        lines = text.splitlines()
        at_tab = bool(mark and mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1])
        hint = (
            "YAML does not allow tabs for indentation; use spaces"
            if at_tab or "\t" in problem
            else "check the YAML syntax near this position"
        )
        raise CnnCalcError(f"invalid YAML: {problem}", loc, hint) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (NUL, a control character)
        line = text.count("\n", 0, e.position) + 1
        col = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        raise CnnCalcError(f"invalid YAML: the character {_char(e.character)} is not allowed ({e.reason})", Loc(file, line, col),
                           "remove the character; architecture files are plain text") from None  # fmt: skip
    except yaml.YAMLError as e:
        raise CnnCalcError(f"invalid YAML: {str(e).splitlines()[0]}", Loc(file, 1, 1)) from None
    except RecursionError:
        raise CnnCalcError("invalid YAML: nesting is too deep", Loc(file, 1, 1)) from None
    if root is None:
        raise CnnCalcError(
            "the file is empty",
            Loc(file, 1, 1),
            "an architecture file starts with 'cnncalc: 1' and has 'input:' and 'layers:'",
        )
    budget = [MAX_YAML_NODES]
    return _convert(root, file, budget, 0)


def _char(c: str | int) -> str:
    """``U+0000`` for the character a reader refused (PyYAML gives a str, or an int for a byte)."""
    return f"U+{ord(c) if isinstance(c, str) else c:04X}"


def _convert(node: yaml.Node, file: str, budget: list[int], depth: int) -> YNode:
    budget[0] -= 1
    loc = _loc(file, node)
    if budget[0] < 0:
        raise CnnCalcError(
            f"the YAML document expands to more than {MAX_YAML_NODES} values",
            loc,
            "this looks like an alias bomb; write the architecture without deeply nested aliases",
        )
    if depth > 64:
        raise CnnCalcError("YAML nesting is deeper than 64 levels", loc, "flatten the structure")
    if isinstance(node, yaml.ScalarNode):
        return YScalar(_scalar(node, loc), loc)
    if node.tag not in (_TAG + "seq", _TAG + "map"):
        shown = node.tag.replace(_TAG, "!!")
        raise CnnCalcError(f"unsupported YAML tag {shown!r}", loc, "architecture files use plain YAML values only")
    if isinstance(node, yaml.SequenceNode):
        return YSeq(tuple(_convert(n, file, budget, depth + 1) for n in node.value), loc)
    assert isinstance(node, yaml.MappingNode)
    items: list[tuple[YScalar, YNode]] = []
    seen: dict[object, Loc] = {}
    for knode, vnode in node.value:
        if knode.tag == _TAG + "merge":
            raise CnnCalcError("YAML merge keys ('<<') are not supported", _loc(file, knode), "write the keys out")
        key = _convert(knode, file, budget, depth + 1)
        if not isinstance(key, YScalar) or not isinstance(key.value, str):
            raise CnnCalcError(f"mapping keys must be names, found {describe(key)}", _loc(file, knode))
        if key.value in seen:
            raise CnnCalcError(
                f"duplicate key {key.value!r} (first written at line {seen[key.value].line})",
                key.loc,
                "YAML keeps only the last value; remove one of them",
            )
        seen[key.value] = key.loc
        items.append((key, _convert(vnode, file, budget, depth + 1)))
    return YMap(tuple(items), loc)


def _scalar(node: yaml.ScalarNode, loc: Loc) -> Scalar:
    tag, raw = node.tag, str(node.value)
    plain = node.style in (None, "")
    if tag not in _PLAIN_TAGS or tag != _RESOLVER.resolve(yaml.ScalarNode, raw, (plain, not plain)):  # type: ignore[no-untyped-call]
        # a tag the value would not have by itself was written (!!int '1', !!str 3): plain values only
        shown = tag.replace(_TAG, "!!")
        raise CnnCalcError(f"unsupported YAML tag {shown!r}", loc, "architecture files use plain YAML values only")
    if node.style in ("'", '"', "|", ">"):
        return raw  # quoted: always a string
    if tag == _TAG + "str":
        return raw
    if tag == _TAG + "null":
        return None
    if tag == _TAG + "bool":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise CnnCalcError(
            f"{raw!r} is read as a YAML 1.1 boolean",
            loc,
            "write true or false, or quote it if you meant a string",
        )
    if tag == _TAG + "int":
        if not _DECIMAL_INT.match(raw):
            raise CnnCalcError(f"{raw!r} is not a plain decimal integer", loc, "write integers in decimal, e.g. 64")
        return int(raw.replace("_", ""))
    # float
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        raise CnnCalcError(f"{raw!r} is not a number", loc, "write numbers like 0.5 or 1e-5") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise CnnCalcError(f"{raw!r} is not a finite number", loc)
    return value
