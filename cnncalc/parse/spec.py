"""Architecture files (format version 1) -> immutable, validated spec objects.

This is the input boundary: after :func:`parse_arch`, the structure of the file
is known to be right (known keys, known layer types, well-formed ids and
``from`` lists). Values that may be expressions stay as located YAML scalars;
they are evaluated when the network is expanded, because blocks give them
different parameters at each use.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import CnnCalcError, Collector, Loc, did_you_mean
from ..layers import CATALOGUE
from .limits import MAX_FILE_BYTES
from .yamlnodes import YMap, YNode, YScalar, YSeq, describe, load_yaml

FORMAT_VERSION = 1
TOP_KEYS = ("cnncalc", "name", "description", "convention", "input", "symbols", "params", "blocks", "layers")
CONVENTIONS = ("torch", "keras")
RESERVED = ("type", "id", "from", "repeat", "expect", "layers", "trainable")
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Ref:
    """A name in a ``from:`` list, with where it is written."""

    name: str
    loc: Loc


@dataclass(frozen=True)
class LayerSpec:
    """One item of a ``layers:`` list: a layer, a block use, or an inline sub-sequence."""

    type: str | None  # None for an inline ``layers:`` sub-sequence
    args: tuple[tuple[str, YNode], ...]
    id: str | None
    sources: tuple[Ref, ...] | None
    repeat: YNode | None
    expect: YNode | None
    trainable: bool
    body: tuple[LayerSpec, ...] | None
    loc: Loc
    key_locs: tuple[tuple[str, Loc], ...]
    broken: bool = False  # it had an error (reported): expansion skips it and everything fed by it


@dataclass(frozen=True)
class BlockSpec:
    """A reusable, parameterised sub-network from ``blocks:`` (no layers: it had an error, already reported)."""

    name: str
    params: tuple[tuple[str, YNode | None], ...]  # None = required
    layers: tuple[LayerSpec, ...]
    loc: Loc


@dataclass(frozen=True)
class Origin:
    """A spec read from another format (a Keras model): its model class and the class name of each layer id."""

    format: str  # "keras"
    model_class: str  # Sequential, Functional
    input_name: str
    classes: tuple[tuple[str, str], ...]  # (layer id, the format's class name)
    outputs: tuple[str, ...] = ()
    weights: tuple[tuple[str, tuple[tuple[int, ...], ...]], ...] | None = None  # saved shapes by layer id
    weights_file: str = ""
    operations: tuple[str, ...] = ()  # ids of operations (keras.ops calls), not layers of the model


@dataclass(frozen=True)
class ArchSpec:
    """A whole architecture file, validated for structure."""

    file: str
    name: str
    input: tuple[YNode, ...]
    input_loc: Loc
    symbols: tuple[tuple[str, int | None, Loc], ...]
    params: tuple[tuple[str, YNode], ...]
    blocks: dict[str, BlockSpec]
    layers: tuple[LayerSpec, ...]
    loc: Loc
    convention: str = "torch"  # "keras": BatchNorm statistics count as parameters, 'same' works with strides
    origin: Origin | None = None  # read from a Keras model (keras/config.py), not written as YAML


def parse_file(path: str | Path) -> ArchSpec:
    """Read and parse an architecture file; every problem is a located CnnCalcError.

    Only a regular file is read, and at most :data:`~cnncalc.parse.limits.MAX_FILE_BYTES` of it
    (a FIFO, a device such as /dev/zero or a directory is refused before reading).
    """
    from ..inputfile import FileTooLarge, read_bounded

    file = str(path)
    try:
        raw = read_bounded(path, file, MAX_FILE_BYTES)
    except FileTooLarge as e:
        raise CnnCalcError(e.message, Loc(file, 1, 1), _LARGE_HINT) from None
    return parse_bytes(raw, file)


@dataclass(frozen=True)
class FileText:
    """An architecture file's content, received rather than read (the web page sends it), under its name."""

    file: str
    raw: bytes


def parse_bytes(raw: bytes, file: str) -> ArchSpec:
    """Parse an architecture file's bytes (at most :data:`~cnncalc.parse.limits.MAX_FILE_BYTES`), named ``file``."""
    from ..inputfile import FileTooLarge, line_col

    if len(raw) > MAX_FILE_BYTES:
        raise CnnCalcError(FileTooLarge(len(raw), MAX_FILE_BYTES).message, Loc(file, 1, 1), _LARGE_HINT)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = line_col(raw, e.start)
        raise CnnCalcError(f"the file is not UTF-8 text (byte {e.start}: 0x{raw[e.start]:02x})", Loc(file, line, col),
                           "save the file as UTF-8") from None  # fmt: skip
    return parse_text(text, file)


_LARGE_HINT = "architecture files are small; generate repeated layers with 'repeat:' or blocks"


def parse_text(text: str, file: str = "<string>") -> ArchSpec:
    """Parse architecture YAML given as text."""
    return parse_arch(load_yaml(text, file), file)


def parse_arch(root: YNode, file: str) -> ArchSpec:
    """Validate the document structure and build the spec.

    Independent problems are all reported (:class:`CnnCalcErrors`), each at its own line; the
    error then carries the spec with the broken layers marked, for expansion to find more.
    """
    errors = Collector()
    top = _need_map(root, "the top level of an architecture file")
    typos = _check_keys(top, TOP_KEYS, "top-level key", errors)
    with contextlib.suppress(_Typo), errors.attempt():
        version = _required(top, "cnncalc", typos, "missing 'cnncalc: 1' (the format version)",
                            "add 'cnncalc: 1' as the first line")  # fmt: skip
        if not (isinstance(version, YScalar) and type(version.value) is int and version.value == FORMAT_VERSION):
            raise CnnCalcError(
                f"unsupported format version: expected 1, found {describe(version)}",
                version.loc,
                "this cnncalc reads format version 1",
            )
    name_node = top.get("name")
    name = Path(file).stem
    with errors.attempt():
        if name_node is not None:
            if not isinstance(name_node, YScalar) or not isinstance(name_node.value, str):
                raise CnnCalcError(f"name must be a string, found {describe(name_node)}", name_node.loc)
            name = name_node.value
    inp = top.get("input")
    input_ok = False
    with contextlib.suppress(_Typo), errors.attempt():
        inp = _required(
            top, "input", typos, "missing 'input:' (the per-sample input shape)", "for example input: [3, 32, 32]"
        )
        if not isinstance(inp, YSeq) or not inp.items:
            raise CnnCalcError(
                f"input must be a non-empty list of sizes, found {describe(inp) if not isinstance(inp, YSeq) else 'an empty list'}",
                inp.loc,
                "for example input: [3, H, W] (one sample, no batch dimension)",
            )
        if len(inp.items) > 6:
            raise CnnCalcError(f"input has {len(inp.items)} dims; at most 6 are supported", inp.loc)
        input_ok = True
    symbols = _symbols(top.get("symbols"), errors)
    found = len(errors.errors)
    params = _params(top.get("params"), {s for s, _, _ in symbols}, errors)
    params_ok = len(errors.errors) == found  # a broken param would make every use of it an error too
    blocks = _blocks(top.get("blocks"), errors)
    layers: tuple[LayerSpec, ...] | None = None
    with contextlib.suppress(_Typo), errors.attempt():
        layers_node = _required(top, "layers", typos, "missing 'layers:'",
                                "list the layers, e.g. layers: [{type: Conv2d, out_channels: 16, kernel_size: 3}]")  # fmt: skip
        layers = _layer_list(layers_node, blocks, "the file", errors)
    convention = "torch"
    conv_node = top.get("convention")
    with errors.attempt():
        if conv_node is not None:
            if not (isinstance(conv_node, YScalar) and conv_node.value in CONVENTIONS):
                raise CnnCalcError(f"convention must be torch or keras, found {describe(conv_node)}", conv_node.loc,
                                   "keras counts BatchNorm statistics as parameters and allows 'same' with strides")  # fmt: skip
            convention = str(conv_node.value)
    spec = None
    if input_ok and params_ok and layers is not None and isinstance(inp, YSeq):
        spec = ArchSpec(file, name, inp.items, inp.loc, symbols, params, blocks, layers, top.loc, convention)
    errors.check(spec)
    assert spec is not None
    return spec


class _Typo(Exception):
    """A key is missing because it is misspelt; the misspelling is the error reported."""


def _required(top: YMap, key: str, typos: set[str], message: str, hint: str) -> YNode:
    """The value under ``key``; when it is missing, an error, unless a misspelt key already explains it."""
    node = top.get(key)
    if node is None:
        raise _Typo if key in typos else CnnCalcError(message, top.loc, hint)
    return node


def _need_map(node: YNode, what: str) -> YMap:
    if not isinstance(node, YMap):
        raise CnnCalcError(f"{what} must be a mapping, found {describe(node)}", node.loc)
    return node


def _check_keys(node: YMap, allowed: tuple[str, ...], what: str, errors: Collector) -> set[str]:
    """Report each unknown key; return the known keys they look like (a typo for 'layers' explains its absence)."""
    meant: set[str] = set()
    for key, _ in node.items:
        if key.value not in allowed:
            meant.update(difflib.get_close_matches(str(key.value), allowed, n=1, cutoff=0.6))
            errors.add(CnnCalcError(
                f"unknown {what} {key.value!r}",
                key.loc,
                did_you_mean(str(key.value), allowed) or "allowed: " + ", ".join(allowed),
            ))  # fmt: skip
    return meant


def _check_name(kind: str, name: str, loc: Loc) -> None:
    if not _NAME.match(name):
        raise CnnCalcError(f"{kind} name {name!r} is not a valid name", loc, "use letters, digits and _")


def _symbols(node: YNode | None, errors: Collector) -> tuple[tuple[str, int | None, Loc], ...]:
    out: list[tuple[str, int | None, Loc]] = []
    if node is None:
        return ()
    with errors.attempt():
        symbols = _need_map(node, "symbols")
        for key, value in symbols.items:
            found = len(errors.errors)
            with errors.attempt():
                out.append(_symbol(key, value))
            if len(errors.errors) > found and _NAME.match(str(key.value)):
                out.append((str(key.value), None, key.loc))  # declared still: its uses are not errors too
    return tuple(out)


def _symbol(key: YScalar, value: YNode) -> tuple[str, int | None, Loc]:
    name = str(key.value)
    _check_name("symbol", name, key.loc)
    if not isinstance(value, YScalar) or not (
        value.value is None or (isinstance(value.value, int) and not isinstance(value.value, bool) and value.value >= 1)
    ):
        raise CnnCalcError(
            f"symbol {name!r} must be a positive integer or null, found {describe(value)}",
            value.loc,
            "the value is the default size; null means unknown",
        )
    if isinstance(value.value, int) and value.value > 2**31:
        raise CnnCalcError(f"symbol {name!r} = {value.value} is beyond the limit of 2**31", value.loc)
    return name, value.value if isinstance(value.value, int) else None, key.loc


def _params(node: YNode | None, symbols: set[str], errors: Collector) -> tuple[tuple[str, YNode], ...]:
    if node is None:
        return ()
    out: list[tuple[str, YNode]] = []
    with errors.attempt():
        for key, value in _need_map(node, "params").items:
            with errors.attempt():
                name = str(key.value)
                _check_name("param", name, key.loc)
                if name in symbols:
                    raise CnnCalcError(f"{name!r} is declared both as a symbol and as a param", key.loc,
                                       "rename one of them")  # fmt: skip
                if not isinstance(value, YScalar):
                    raise CnnCalcError(
                        f"param {name!r} must be a number, boolean or expression, found {describe(value)}", value.loc
                    )
                out.append((name, value))
    return tuple(out)


def _blocks(node: YNode | None, errors: Collector) -> dict[str, BlockSpec]:
    if node is None:
        return {}
    out: dict[str, BlockSpec] = {}
    with errors.attempt():
        blocks_map = _need_map(node, "blocks")
        names = set(blocks_map.keys())
        for key, value in blocks_map.items:
            built = False
            with errors.attempt():
                _block(key, value, names, out, errors)  # a broken layer inside still makes a block
                built = True
            if not built and str(key.value) not in CATALOGUE:
                out[str(key.value)] = BlockSpec(str(key.value), (), (), key.loc)  # broken: its uses are skipped
    return out


def _block(key: YScalar, value: YNode, names: set[str], out: dict[str, BlockSpec], errors: Collector) -> None:
    name = str(key.value)
    if name in CATALOGUE:
        raise CnnCalcError(f"block name {name!r} is already a layer type", key.loc, "choose another name")
    _check_name("block", name, key.loc)
    body = _need_map(value, f"block {name!r}")
    _check_keys(body, ("params", "layers", "description"), f"key in block {name!r}", errors)
    params: list[tuple[str, YNode | None]] = []
    pnode = body.get("params")
    if pnode is not None:
        for pkey, pval in _need_map(pnode, f"params of block {name!r}").items:
            pname = str(pkey.value)
            if not _NAME.match(pname) or pname in RESERVED:
                raise CnnCalcError(
                    f"block parameter name {pname!r} is not allowed",
                    pkey.loc,
                    "use a name that is not one of " + ", ".join(RESERVED),
                )
            required = isinstance(pval, YScalar) and pval.value == "required"
            if not required and not isinstance(pval, (YScalar, YSeq)):
                raise CnnCalcError(
                    f"default of {pname!r} must be a value or 'required', found {describe(pval)}", pval.loc
                )
            params.append((pname, None if required else pval))
    lnode = body.get("layers")
    if lnode is None:
        raise CnnCalcError(f"block {name!r} has no 'layers:'", body.loc)
    # Block types are resolved against all block names, so blocks may use each other in any order.
    out[name] = BlockSpec(name, tuple(params), _layer_list(lnode, names, f"block {name!r}", errors), body.loc)


def _layer_list(node: YNode, blocks: dict[str, BlockSpec] | set[str], where: str,
                errors: Collector) -> tuple[LayerSpec, ...]:  # fmt: skip
    """Each item, or a broken stand-in for an item with an error (the error is recorded in ``errors``)."""
    if not isinstance(node, YSeq):
        raise CnnCalcError(
            f"'layers' of {where} must be a list, found {describe(node)}",
            node.loc,
            "write one layer per line starting with '- '",
        )
    if not node.items:
        raise CnnCalcError(f"'layers' of {where} is empty", node.loc, "add at least one layer")
    out = []
    for item in node.items:
        found = len(errors.errors)
        layer = None
        with errors.attempt():
            layer = _layer(item, blocks, errors)
        if layer is None or len(errors.errors) > found:
            layer = _broken(item)
        out.append(layer)
    return tuple(out)


def _broken(node: YNode) -> LayerSpec:
    """A stand-in for an item with an error: it keeps its id, so later ``from:`` references still resolve."""
    lid = None
    if isinstance(node, YMap):
        id_node = node.get("id")
        if isinstance(id_node, YScalar) and isinstance(id_node.value, str) and _ID.match(id_node.value):
            lid = id_node.value
    return LayerSpec(None, (), lid, None, None, None, True, None, node.loc, (), broken=True)


def _known_type(name: str, loc: Loc, blocks: dict[str, BlockSpec] | set[str]) -> str:
    if name in CATALOGUE or name in blocks:
        return name
    choices = [*CATALOGUE, *blocks]
    raise CnnCalcError(
        f"unknown layer type {name!r}",
        loc,
        did_you_mean(name, choices) or "see 'cnncalc layers' for the supported types",
    )


def _layer(node: YNode, blocks: dict[str, BlockSpec] | set[str], errors: Collector) -> LayerSpec:
    if isinstance(node, YScalar) and isinstance(node.value, str):
        t = _known_type(node.value.strip(), node.loc, blocks)
        return LayerSpec(t, (), None, None, None, None, True, None, node.loc, ())
    if not isinstance(node, YMap):
        raise CnnCalcError(
            f"a layer must be a type name or a mapping, found {describe(node)}",
            node.loc,
            "write '- ReLU' or '- {type: Conv2d, out_channels: 16, kernel_size: 3}'",
        )
    type_node, body_node = node.get("type"), node.get("layers")
    if type_node is None and body_node is None:
        raise CnnCalcError("layer has no 'type'", node.loc, "add type: (a torch.nn class name or a block name)")
    if type_node is not None and body_node is not None:
        raise CnnCalcError("a layer has either 'type' or an inline 'layers' list, not both", node.key_loc("layers"))
    ltype: str | None = None
    if type_node is not None:
        if not isinstance(type_node, YScalar) or not isinstance(type_node.value, str):
            raise CnnCalcError(f"type must be a name, found {describe(type_node)}", type_node.loc)
        ltype = _known_type(type_node.value.strip(), type_node.loc, blocks)
    body = _layer_list(body_node, blocks, "an inline sub-sequence", errors) if body_node is not None else None
    lid = _id(node.get("id"))
    args: list[tuple[str, YNode]] = []
    allowed = _allowed_args(ltype, blocks)
    written = set(node.keys())
    for key, value in node.items:
        k = str(key.value)
        if k in RESERVED:
            continue
        k = _keras_spelling(ltype, k, key.loc, written, errors)
        if allowed is not None and k not in allowed:
            what = f"argument {k!r} for {ltype}" if ltype else f"key {k!r}"
            options = [*allowed, *RESERVED]
            errors.add(CnnCalcError(
                f"unknown {what}",
                key.loc,
                _keras_hint(ltype, k)
                or did_you_mean(k, options)
                or ("allowed: " + ", ".join(allowed) if allowed else f"{ltype} takes no arguments"),
            ))  # fmt: skip
            continue
        args.append((k, value))
    trainable = True
    tnode = node.get("trainable")
    if tnode is not None:
        if not isinstance(tnode, YScalar) or not isinstance(tnode.value, bool):
            raise CnnCalcError(f"trainable must be true or false, found {describe(tnode)}", tnode.loc)
        trainable = tnode.value
    return LayerSpec(
        ltype,
        tuple(args),
        lid,
        _sources(node.get("from")),
        node.get("repeat"),
        node.get("expect"),
        trainable,
        body,
        node.loc,
        tuple((str(k.value), k.loc) for k, _ in node.items),
    )


def _keras_spelling(ltype: str | None, arg: str, loc: Loc, written: set[str], errors: Collector) -> str:
    """Keras' name of an argument (Dropout's rate) as the argument it names (p), when the layer type says so."""
    t = CATALOGUE.get(ltype or "")
    same = t.keras_names.get(arg) if t is not None and arg not in t.args else None
    if same is None:
        return arg
    if same in written:
        errors.add(CnnCalcError(f"{ltype} is given both {arg!r} (Keras' name) and {same!r}", loc,
                                f"{arg} is {same}; write one of them"))  # fmt: skip
    return same


def _keras_hint(ltype: str | None, arg: str) -> str | None:
    """A torch argument name given to a Keras layer name (out_channels on Conv2D) gets a pointed hint."""
    t = CATALOGUE.get(ltype or "")
    rename = getattr(t, "rename", None)
    if t is None or rename is None:
        return None
    keras_name = next((k for k, v in rename.items() if v == arg), None)
    if keras_name is None:
        return None
    torch_name = t.inner_type(t.ndim + 1).name  # type: ignore[attr-defined]
    return f"{ltype} is Keras' name, which takes {keras_name}; torch's {torch_name} takes {arg}"


def _allowed_args(ltype: str | None, blocks: dict[str, BlockSpec] | set[str]) -> tuple[str, ...] | None:
    if ltype is None:
        return ()
    if ltype in CATALOGUE:
        t = CATALOGUE[ltype]
        return (*t.args, *t.inferred)
    if isinstance(blocks, dict) and blocks[ltype].layers:
        return tuple(p for p, _ in blocks[ltype].params)
    return None  # block params are checked when the block is used (a broken block: not at all)


def _id(node: YNode | None) -> str | None:
    if node is None:
        return None
    if not isinstance(node, YScalar) or not isinstance(node.value, str) or not _ID.match(node.value):
        raise CnnCalcError(f"id must be a name of letters, digits, '_' or '-', found {describe(node)}", node.loc)
    if node.value == "input":
        raise CnnCalcError("'input' is reserved for the network input and cannot be an id", node.loc)
    return node.value


def _sources(node: YNode | None) -> tuple[Ref, ...] | None:
    if node is None:
        return None
    items = node.items if isinstance(node, YSeq) else (node,)
    if not items:
        raise CnnCalcError("'from' is an empty list", node.loc, "name at least one earlier layer id, or 'input'")
    refs = []
    for item in items:
        if not isinstance(item, YScalar) or not isinstance(item.value, str):
            raise CnnCalcError(
                f"'from' takes ids, found {describe(item)}", item.loc, "write from: conv1 or from: [a, b]"
            )
        refs.append(Ref(item.value, item.loc))
    return tuple(refs)
