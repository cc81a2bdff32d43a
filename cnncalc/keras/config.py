"""A Keras model config (``model.get_config()``, ``config.json``, ``to_json()``) -> an ``ArchSpec``.

The one reader for every Keras source: saved files (keras/files.py) and live models
(keras/target.py) hand it the config as located nodes. Each Keras layer becomes one item
of an architecture file under ``convention: keras``, of the catalogue type with the
Keras name (``Conv2D``, ``Dense``, ``BatchNormalization``: layers/keras.py) or the torch
name Keras shares (``Flatten``, ``Dropout``, ``Add``); its Keras name is its id, and a
functional model's inbound nodes are its ``from:``. Everything after that is the YAML
pipeline: symbolic shapes, conditions, receptive fields, a torch forward pass.

The config's values keep their positions, so an error points into the user's file.
A key that changes no shape or count (initialisers, regularisers, the dtype) is dropped;
a key cnncalc cannot honour, and a layer outside the catalogue, is an error that names
the layer and where it is (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CnnCalcError, Loc
from ..layers import CATALOGUE
from ..layers.keras import snake_case
from ..parse.spec import ArchSpec, Origin, parse_arch
from ..parse.yamlnodes import YMap, YNode, YScalar, YSeq, describe

MODELS = ("Sequential", "Functional", "Model")
IGNORED = frozenset({
    "name", "trainable", "dtype", "data_format", "activity_regularizer", "seed", "sparse", "ragged", "optional",
    "noise_shape", "lora_rank", "lora_alpha", "quantization_config", "autocast", "synchronized", "renorm",
    "renorm_clipping", "renorm_momentum", "batch_input_shape", "batch_shape", "input_shape", "input_dim",
    "input_length", "build_input_shape", "momentum", "gamma_initializer", "beta_initializer",
})  # fmt: skip
"""Config keys that change no shape or parameter count (or are read elsewhere: name, trainable, data_format)."""
_IGNORED_SUFFIXES = ("_initializer", "_regularizer", "_constraint")
_VALUE_ONLY = {"ReLU": ("max_value", "negative_slope", "threshold")}
"""Keys that change the values a layer computes but not its shape or counts (ReLU's clipping and slope)."""

NOT_MAPPED = {
    "SeparableConv1D": "a depthwise and a pointwise convolution in one layer; cnncalc's types are one torch layer each",
    "SeparableConv2D": "a depthwise and a pointwise convolution in one layer; cnncalc's types are one torch layer each",
    "LayerNormalization": "it normalises Keras' last axis, the channels, and torch's LayerNorm the trailing dims",
    "PReLU": "Keras learns one slope per element (unless shared_axes), torch's PReLU one or one per channel",
    "Cropping1D": "the catalogue has no cropping layer", "Cropping2D": "the catalogue has no cropping layer",
    "Cropping3D": "the catalogue has no cropping layer",
    "Subtract": "the catalogue's elementwise merges are Add and Mul", "Average": "the catalogue's merges are Add and Mul",
    "Maximum": "the catalogue's merges are Add and Mul", "Minimum": "the catalogue's merges are Add and Mul",
    "Normalization": "its mean and variance are weights of the input's shape, not a catalogue layer",
    "Embedding": "the catalogue has no embedding layers", "LSTM": "the catalogue has no recurrent layers",
    "GRU": "the catalogue has no recurrent layers", "SimpleRNN": "the catalogue has no recurrent layers",
    "Lambda": "a Lambda runs Python code that a config does not describe",
}  # fmt: skip
"""Keras layers cnncalc does not map, and why (docs/format.md lists the mapped ones)."""


@dataclass(frozen=True)
class KerasLayer:
    """One Keras layer of the config: its name, class, where it is, and the cnncalc item made of it."""

    name: str
    cls: str
    path: str  # where in the config: config.layers[3]
    loc: Loc
    sources: tuple[str, ...] = ()
    item: YMap | None = None
    operation: bool = False  # a keras.ops call (x + y), not a layer: not in model.layers


@dataclass(frozen=True)
class KerasConfig:
    """A Keras model config read: the spec, its layers in order, and the model's class and input."""

    spec: ArchSpec
    layers: tuple[KerasLayer, ...]  # in the config's order (model.layers)
    model_class: str
    input_name: str
    input_shape: tuple[int | None, ...] | None  # as saved, channels last, no batch
    outputs: tuple[str, ...] = field(default_factory=tuple)


def _get(node: YNode | None, key: str) -> YNode | None:
    return node.get(key) if isinstance(node, YMap) else None


def _text(node: YNode | None) -> str | None:
    return node.value if isinstance(node, YScalar) and isinstance(node.value, str) else None


def _shape(node: YNode | None) -> tuple[int | None, ...] | None:
    """A saved batch shape ``[null, 28, 28, 1]`` -> ``(28, 28, 1)``."""
    if not isinstance(node, YSeq) or not node.items:
        return None
    dims = [n.value if isinstance(n, YScalar) else None for n in node.items[1:]]
    return tuple(d if isinstance(d, int) and not isinstance(d, bool) else None for d in dims)


def model_node(root: YNode, file: str) -> YMap:
    """The model's ``{"class_name": ..., "config": ...}`` (a saved file's top level), checked."""
    if not isinstance(root, YMap) or _text(root.get("class_name")) is None or not isinstance(root.get("config"), YMap):
        loc = root.loc if root is not None else Loc(file, 1, 1)
        raise CnnCalcError("this is not a Keras model config: expected an object with class_name and config", loc,
                           "save the model with model.save('model.keras') or write model.to_json() to a file")  # fmt: skip
    return root


def read_config(root: YNode, file: str, inputs: Sequence[Any] = (), label: str | None = None) -> KerasConfig:
    """The Keras model config ``root`` (located nodes) as an architecture spec under ``convention: keras``.

    ``inputs`` (``--input`` specs, channels last) replace the saved input shape; symbols in them
    (``HxWx3``) default to the saved sizes.
    """
    model = model_node(root, file)
    cls = _text(model.get("class_name")) or ""
    cfg = model.get("config")
    assert isinstance(cfg, YMap)
    if cls not in MODELS:
        raise CnnCalcError(f"the model is a {cls}, not a Sequential or functional model", model.loc,
                           "cnncalc reads Sequential and functional Keras models; a subclassed model saves no layer "
                           "graph: load it in Python (cnncalc shapes model.py:model --input ...)")  # fmt: skip
    name = _text(cfg.get("name")) or label or "model"
    layer_nodes = cfg.get("layers")
    if not isinstance(layer_nodes, YSeq):
        raise CnnCalcError(f"the model config has no layers list (found {describe(layer_nodes) if layer_nodes else 'none'})",
                           cfg.loc)  # fmt: skip
    functional = cls != "Sequential"
    saved_shape: tuple[int | None, ...] | None = _shape(cfg.get("build_input_shape"))
    shape_loc = cfg.get("build_input_shape").loc if saved_shape else cfg.loc  # type: ignore[union-attr]
    input_names: list[str] = []
    layers: list[KerasLayer] = []
    for k, node in enumerate(layer_nodes.items):
        path = f"config.layers[{k}]"
        lcls = _text(_get(node, "class_name"))
        lcfg = _get(node, "config")
        if lcls is None or not isinstance(lcfg, YMap):
            raise CnnCalcError(f"layer {k} ({path}) is not a Keras layer config", node.loc,
                               "each layer is an object with class_name and config")  # fmt: skip
        lname = _text(lcfg.get("name")) or _text(_get(node, "name")) or f"layer_{k}"
        if lcls == "InputLayer":
            input_names.append(lname)
            got = _shape(lcfg.get("batch_shape") or lcfg.get("batch_input_shape"))
            if got is not None:
                saved_shape = got
                shape_loc = (lcfg.get("batch_shape") or lcfg.get("batch_input_shape")).loc  # type: ignore[union-attr]
            continue
        if saved_shape is None and not layers:  # Keras 2: the first layer carries batch_input_shape
            first = lcfg.get("batch_input_shape") or lcfg.get("batch_shape")
            got = _shape(first)
            if got is not None:
                saved_shape, shape_loc = got, first.loc  # type: ignore[union-attr]
        sources = _sources(node, lname, path) if functional else ()
        item = _item(node, lcls, lcfg, lname, path, sources if functional else None)
        op = (_text(_get(node, "module")) or "").startswith(("keras.src.ops", "keras.ops"))
        layers.append(KerasLayer(lname, lcls, path, node.loc, sources, item, op))
    if functional:
        ins = cfg.get("input_layers")
        used = _names(ins)
        if len(used) > 1:
            raise CnnCalcError(f"the model has {len(used)} inputs ({', '.join(used)}); cnncalc's networks take one",
                               ins.loc if ins is not None else cfg.loc,
                               "analyse each branch as its own model, or merge the inputs first")  # fmt: skip
        input_names = used or input_names
    saved_order = tuple(layers)
    if functional:
        layers = _ordered(layers, set(input_names))
    outputs = tuple(_names(cfg.get("output_layers"))) if functional else ((layers[-1].name,) if layers else ())
    if not layers:
        raise CnnCalcError("the model has no layers", layer_nodes.loc)
    doc = _document(name, cfg, inputs, saved_shape, shape_loc, file, set(input_names), layers)
    origin = Origin("keras", cls, input_names[0] if input_names else "input_layer",
                    tuple((lay.name, lay.cls) for lay in layers), outputs,
                    operations=tuple(lay.name for lay in layers if lay.operation))  # fmt: skip
    spec = parse_arch(doc, file)
    import dataclasses

    return KerasConfig(dataclasses.replace(spec, origin=origin), saved_order, cls,
                       origin.input_name, saved_shape, outputs)  # fmt: skip


def _names(node: YNode | None) -> list[str]:
    """``input_layers``: ``[name, 0, 0]`` or a list of them."""
    if not isinstance(node, YSeq) or not node.items:
        return []
    first = node.items[0]
    entries = node.items if isinstance(first, YSeq) else (node,)
    return [n for e in entries if isinstance(e, YSeq) and e.items for n in [_text(e.items[0])] if n]


def _history(node: YNode, found: list[tuple[str, int, int, Loc]]) -> None:
    """Every ``keras_history`` [layer, node, tensor] under a Keras 3 inbound node."""
    if isinstance(node, YMap):
        hist = _get(node.get("config"), "keras_history")
        if _text(node.get("class_name")) == "__keras_tensor__" and isinstance(hist, YSeq) and len(hist.items) == 3:
            name, n, t = (h.value if isinstance(h, YScalar) else None for h in hist.items)
            found.append((str(name), int(n or 0), int(t or 0), hist.loc))  # type: ignore[call-overload]
            return
        for _, v in node.items:
            _history(v, found)
    elif isinstance(node, YSeq):
        for v in node.items:
            _history(v, found)


def _sources(node: YNode, name: str, path: str) -> tuple[str, ...]:
    inbound = _get(node, "inbound_nodes")
    if not isinstance(inbound, YSeq) or not inbound.items:
        raise CnnCalcError(f"layer {name!r} ({path}) has no inbound node: it is not connected", node.loc)
    if len(inbound.items) > 1:
        raise CnnCalcError(f"layer {name!r} ({path}) is applied {len(inbound.items)} times (a shared layer)",
                           inbound.loc, "cnncalc's networks have one node per layer; give each use its own layer")  # fmt: skip
    call = inbound.items[0]
    found: list[tuple[str, int, int, Loc]] = []
    if isinstance(call, YMap):  # Keras 3: {"args": [...], "kwargs": {...}}
        _history(call.get("args") or YSeq((), call.loc), found)
        extra: list[tuple[str, int, int, Loc]] = []
        _history(call.get("kwargs") or YSeq((), call.loc), extra)
        if extra:
            raise CnnCalcError(f"layer {name!r} ({path}) takes a tensor as a keyword argument (a mask?)", extra[0][3],
                               "cnncalc follows the layer's positional inputs only")  # fmt: skip
    elif isinstance(call, YSeq):  # Keras 2: [[name, node, tensor, kwargs], ...]
        for e in call.items:
            if isinstance(e, YSeq) and len(e.items) >= 3 and _text(e.items[0]):
                n, t = (x.value if isinstance(x, YScalar) else 0 for x in e.items[1:3])
                found.append((str(_text(e.items[0])), int(n or 0), int(t or 0), e.loc))  # type: ignore[call-overload]
    if not found:
        raise CnnCalcError(f"layer {name!r} ({path}) has no input tensor in its inbound node", call.loc)
    for src, n, t, loc in found:
        if n != 0 or t != 0:
            raise CnnCalcError(f"layer {name!r} ({path}) takes output {t} of call {n} of {src!r}", loc,
                               "cnncalc follows layers applied once, with one output each")  # fmt: skip
    return tuple(src for src, _, _, _ in found)


def _ordered(layers: list[KerasLayer], inputs: set[str]) -> list[KerasLayer]:
    """The layers in an order where each comes after its sources (Keras saves them so; kept stable)."""
    by_name = {lay.name: lay for lay in layers}
    done: set[str] = set(inputs)
    out: list[KerasLayer] = []
    pending = list(layers)
    while pending:
        ready = [lay for lay in pending if all(s in done for s in lay.sources)]
        if not ready:
            lay = pending[0]
            missing = next(s for s in lay.sources if s not in done)
            hint = "a layer of a nested model?" if missing not in by_name else "the graph has a cycle"
            raise CnnCalcError(f"layer {lay.name!r} ({lay.path}) takes {missing!r}, which is not a layer of the "
                               "model or its input", lay.loc, hint)  # fmt: skip
        first = ready[0]
        out.append(first)
        done.add(first.name)
        pending.remove(first)
    return out


def _item(node: YNode, cls: str, cfg: YMap, name: str, path: str, sources: tuple[str, ...] | None) -> YMap:
    """One Keras layer as the located mapping of an architecture-file item."""
    where = f"{cls} {name!r} ({path})"
    if cls in MODELS:
        raise CnnCalcError(f"{where} is a nested model", node.loc,
                           "cnncalc reads one level of layers; save or analyse the inner model by itself")  # fmt: skip
    module = _text(_get(node, "module")) or ""
    special = _SPECIAL.get(cls)
    if module.startswith(("keras.src.ops", "keras.ops")):  # a keras.ops call (x + y, ops.mean) in a call()
        special = _OPS.get(cls)
        if special is None:
            raise CnnCalcError(f"{where} is a keras.ops operation ({module}) with no cnncalc layer type", node.loc,
                               "cnncalc maps Keras layers and the operations " + ", ".join(sorted(_OPS)) +
                               "; write it as a layer (GlobalAveragePooling2D for ops.mean over the spatial axes)")  # fmt: skip
    type_name = cls
    args: list[tuple[YScalar, YNode]] = []
    consumed: tuple[str, ...] = ()
    if special is not None:
        type_name, args = special(cfg, where)
        consumed = _CONSUMES.get(cls, ()) if special is _SPECIAL.get(cls) else tuple(str(k.value) for k, _ in cfg.items)
    elif cls not in CATALOGUE:
        why = NOT_MAPPED.get(cls)
        registered = _text(_get(node, "registered_name"))
        custom = (registered is not None and registered != cls) or _text(_get(node, "module")) not in (
            None,
            "keras.layers",
        )
        raise CnnCalcError(
            f"{where}: "
            + (
                f"no cnncalc layer type: {why}"
                if why
                else "a custom layer"
                if custom
                else "no cnncalc layer type corresponds to it"
            ),
            _get(node, "class_name").loc if _get(node, "class_name") is not None else node.loc,  # type: ignore[union-attr]
            "see 'cnncalc layers' for the Keras names cnncalc maps; a layer it cannot read fails closed",
        )
    t = CATALOGUE[type_name]
    keys = {str(k.value) for k, _ in args}
    for key, value in cfg.items:
        k = str(key.value)
        if k in keys or k in consumed:
            continue
        if k == "data_format":
            if isinstance(value, YScalar) and value.value not in (None, "channels_last"):
                raise CnnCalcError(f"{where}: data_format {value.value!r}: cnncalc reads Keras models channels last",
                                   value.loc, "Keras' default data_format is 'channels_last'")  # fmt: skip
            continue
        if k == "activation" and "activation" in t.args:
            value = _activation(value, where)
        if k in t.args or k in getattr(t, "keras_names", {}):
            if special is None:
                args.append((key, value))
            continue
        if k in IGNORED or k.endswith(_IGNORED_SUFFIXES) or k in _VALUE_ONLY.get(cls, ()):
            continue
        if isinstance(value, YScalar) and value.value is None:
            continue
        shown = repr(value.value) if isinstance(value, YScalar) else describe(value)
        raise CnnCalcError(f"{where}: argument {k!r} ({shown}) has no counterpart in cnncalc's {type_name}", key.loc,
                           "cnncalc reads only what decides shapes and counts; this one would, so it refuses "
                           "rather than guess")  # fmt: skip
    loc = node.loc
    items: list[tuple[YScalar, YNode]] = [(YScalar("type", loc), YScalar(type_name, loc))]
    name_node = cfg.get("name")
    items.append((YScalar("id", loc), YScalar(name, name_node.loc if name_node is not None else loc)))
    if sources is not None:
        inbound = _get(node, "inbound_nodes")
        sloc = inbound.loc if inbound is not None else loc
        items.append((YScalar("from", sloc), YSeq(tuple(YScalar(s, sloc) for s in sources), sloc)
                      if len(sources) > 1 else YScalar(sources[0], sloc)))  # fmt: skip
    trainable = cfg.get("trainable")
    if isinstance(trainable, YScalar) and trainable.value is False:
        items.append((YScalar("trainable", trainable.loc), trainable))
    return YMap(tuple(items) + tuple(args), loc)


def _activation(value: YNode, where: str) -> YNode:
    """``"relu"``, or Keras 3's serialised ``{"class_name": "function", "config": "relu"}``."""
    if isinstance(value, YMap):
        inner = _text(value.get("config"))
        if inner is None:
            raise CnnCalcError(f"{where}: a custom activation ({describe(value)})", value.loc,
                               "cnncalc maps Keras' named activations (relu, softmax, ...)")  # fmt: skip
        return YScalar(inner, value.loc)
    return value


def _arg(cfg: YMap, key: str) -> tuple[YScalar, YNode] | None:
    for k, v in cfg.items:
        if k.value == key:
            return k, v
    return None


def _value(cfg: YMap, key: str, default: Any) -> Any:
    node = cfg.get(key)
    return node.value if isinstance(node, YScalar) else default


def _softmax(cfg: YMap, where: str) -> tuple[str, list[tuple[YScalar, YNode]]]:
    axis = cfg.get("axis")
    if (isinstance(axis, YScalar) and axis.value not in (-1, None)) or isinstance(axis, YSeq):
        raise CnnCalcError(f"{where}: softmax over axis {axis.value if isinstance(axis, YScalar) else describe(axis)}: "
                           "cnncalc maps Keras' Softmax over the channels (axis -1)", axis.loc)  # fmt: skip
    loc = cfg.loc
    return "Activation", [(YScalar("activation", loc), YScalar("softmax", loc))]


def _leaky(cfg: YMap, where: str) -> tuple[str, list[tuple[YScalar, YNode]]]:
    found = _arg(cfg, "negative_slope") or _arg(cfg, "alpha")  # Keras 3, Keras 2
    return "LeakyReLU", [(YScalar("negative_slope", found[0].loc), found[1])] if found else []


def _same(name: str) -> Callable[[YMap, str], tuple[str, list[tuple[YScalar, YNode]]]]:
    def read(cfg: YMap, where: str) -> tuple[str, list[tuple[YScalar, YNode]]]:
        return name, []

    return read


def _zero_padding(n: int) -> Callable[[YMap, str], tuple[str, list[tuple[YScalar, YNode]]]]:
    def read(cfg: YMap, where: str) -> tuple[str, list[tuple[YScalar, YNode]]]:
        found = _arg(cfg, "padding")
        if found is None:
            return f"ZeroPadding{n}D", []
        key, value = found
        pairs = value.items if isinstance(value, YSeq) else ()
        if pairs and all(isinstance(p, YSeq) and len(p.items) == 2 for p in pairs):  # ((top, bottom), (left, right))
            sides = [(p.items[0], p.items[1]) for p in pairs if isinstance(p, YSeq)]
            if all(isinstance(a, YScalar) and isinstance(b, YScalar) and a.value == b.value for a, b in sides):
                return f"ZeroPadding{n}D", [(key, YSeq(tuple(a for a, _ in sides), value.loc))]
            flat = tuple(v for a, b in reversed(sides) for v in (a, b))  # torch: the last dim first
            return f"ZeroPad{n}d", [(key, YSeq(flat, value.loc))]
        if n == 1 and isinstance(value, YSeq) and len(value.items) == 2:  # ZeroPadding1D((left, right))
            return f"ZeroPad{n}d", [(key, value)]
        return f"ZeroPadding{n}D", [(key, value)]

    return read


def _permute(cfg: YMap, where: str) -> tuple[str, list[tuple[YScalar, YNode]]]:
    found = _arg(cfg, "dims")
    if found is None or not isinstance(found[1], YSeq):
        raise CnnCalcError(f"{where}: Permute needs dims", cfg.loc)
    key, value = found
    assert isinstance(value, YSeq)
    dims = [d.value for d in value.items if isinstance(d, YScalar) and type(d.value) is int]
    r = len(dims)
    if len(dims) != len(value.items) or sorted(dims) != list(range(1, r + 1)):
        raise CnnCalcError(f"{where}: dims {dims} is not an order of the axes 1..{r}", value.loc)

    def torch_dim(a: int) -> int:  # Keras' axis (1..r over (*spatial, C)) -> torch's dim over (batch, C, *spatial)
        return 1 if a == r else a + 1

    order = [0, torch_dim(int(dims[-1])), *(torch_dim(int(a)) for a in dims[:-1])]
    return "Permute", [(key, YSeq(tuple(YScalar(d, value.loc) for d in order), value.loc))]


_SPECIAL: dict[str, Callable[[YMap, str], tuple[str, list[tuple[YScalar, YNode]]]]] = {
    "Softmax": _softmax, "LeakyReLU": _leaky, "Multiply": _same("Mul"), "Permute": _permute,
    **{f"ZeroPadding{n}D": _zero_padding(n) for n in (1, 2, 3)},
}  # fmt: skip
"""Keras classes whose arguments need more than a copy (every other one maps by name, key by key)."""


def _op_mean(cfg: YMap, where: str) -> tuple[str, list[tuple[YScalar, YNode]]]:
    """``ops.mean(x, axis=(1, 2))``: the spatial axes of (batch, *spatial, C) averaged, a global average pooling."""
    axis = cfg.get("axis")
    axes = [a.value for a in axis.items if isinstance(a, YScalar)] if isinstance(axis, YSeq) else []
    n = len(axes)
    if not 1 <= n <= 3 or axes != list(range(1, n + 1)):
        raise CnnCalcError(f"{where}: ops.mean over axis {plain_text(axis)}: cnncalc maps the mean over the spatial "
                           "axes (1, ..., n) of (batch, *spatial, C), a global average pooling",
                           axis.loc if axis is not None else cfg.loc)  # fmt: skip
    keep = cfg.get("keepdims")
    loc = cfg.loc
    args: list[tuple[YScalar, YNode]] = [(YScalar("keepdims", loc), keep)] if isinstance(keep, YScalar) else []
    return f"GlobalAveragePooling{n}D", args


def _op_concatenate(cfg: YMap, where: str) -> tuple[str, list[tuple[YScalar, YNode]]]:
    found = _arg(cfg, "axis")
    return "Concatenate", [found] if found else []


def _op_activation(name: str) -> Callable[[YMap, str], tuple[str, list[tuple[YScalar, YNode]]]]:
    def read(cfg: YMap, where: str) -> tuple[str, list[tuple[YScalar, YNode]]]:
        if name == "softmax":
            axis = cfg.get("axis")
            if isinstance(axis, YScalar) and axis.value not in (-1, None):
                raise CnnCalcError(f"{where}: softmax over axis {axis.value}: cnncalc maps it over the channels (-1)",
                                   axis.loc)  # fmt: skip
        return "Activation", [(YScalar("activation", cfg.loc), YScalar(name, cfg.loc))]

    return read


def plain_text(node: YNode | None) -> str:
    """A config value as it reads: ``[1, 2]``."""
    if isinstance(node, YSeq):
        return "[" + ", ".join(plain_text(v) for v in node.items) + "]"
    return repr(node.value) if isinstance(node, YScalar) else "none"


_OPS: dict[str, Callable[[YMap, str], tuple[str, list[tuple[YScalar, YNode]]]]] = {
    "Add": _same("Add"), "Multiply": _same("Mul"), "Concatenate": _op_concatenate, "Mean": _op_mean,
    **{cls: _op_activation(name) for cls, name in (("Relu", "relu"), ("Sigmoid", "sigmoid"), ("Tanh", "tanh"),
                                                    ("Softmax", "softmax"), ("Gelu", "gelu"), ("Silu", "silu"))},
}  # fmt: skip
"""keras.ops calls (traced from a subclassed model's call()) that are exactly a catalogue layer."""

_CONSUMES = {"Softmax": ("axis",), "LeakyReLU": ("negative_slope", "alpha"), "Permute": ("dims",),
             **{f"ZeroPadding{n}D": ("padding",) for n in (1, 2, 3)}}  # fmt: skip


def _document(name: str, cfg: YMap, inputs: Sequence[Any], saved: tuple[int | None, ...] | None, shape_loc: Loc,
              file: str, input_names: set[str], layers: Sequence[KerasLayer]) -> YMap:  # fmt: skip
    """The architecture file's top level."""
    loc = cfg.loc
    if inputs:
        if len(inputs) > 1:
            raise CnnCalcError(f"{len(inputs)} --input shapes for a Keras model with one input", None)
        dims = list(inputs[0].dims)
        iloc = Loc("--input", 0, 0)
        values: list[YNode] = [YScalar(d, iloc) for d in dims]
        symbols = [d for d in dims if isinstance(d, str)]
        defaults = {s: (saved[j] if saved is not None and len(saved) == len(dims) else None)
                    for j, s in enumerate(dims) if isinstance(s, str)}  # fmt: skip
    else:
        if saved is None or any(d is None for d in saved):
            shown = "none" if saved is None else "(" + ", ".join("None" if d is None else str(d) for d in saved) + ")"
            raise CnnCalcError(f"the model's saved input shape is {shown}: cnncalc needs every size", shape_loc,
                               "give it with --input, channels last and without the batch: --input 28x28x1, or "
                               "--input HxWx3 for formulas in H and W")  # fmt: skip
        values = [YScalar(d, shape_loc) for d in saved]
        symbols, defaults = [], {}
        iloc = shape_loc
    items: list[tuple[YScalar, YNode]] = [
        (YScalar("cnncalc", loc), YScalar(1, loc)), (YScalar("name", loc), YScalar(name, loc)),
        (YScalar("convention", loc), YScalar("keras", loc)), (YScalar("input", iloc), YSeq(tuple(values), iloc)),
    ]  # fmt: skip
    if symbols:
        items.append((YScalar("symbols", iloc), YMap(tuple((YScalar(s, iloc), YScalar(defaults[s], iloc))
                                                           for s in dict.fromkeys(symbols)), iloc)))  # fmt: skip
    refs = {n: "input" for n in input_names}
    body = []
    for lay in layers:
        assert lay.item is not None
        body.append(_rewire(lay.item, refs) if refs else lay.item)
    items.append((YScalar("layers", loc), YSeq(tuple(body), loc)))
    return YMap(tuple(items), loc)


def _rewire(item: YMap, refs: dict[str, str]) -> YMap:
    """``from:`` names of the input layer -> ``input``."""
    out = []
    for k, v in item.items:
        if k.value == "from":
            if isinstance(v, YSeq):
                v = YSeq(tuple(YScalar(refs.get(str(s.value), s.value), s.loc) for s in v.items
                               if isinstance(s, YScalar)), v.loc)  # fmt: skip
            elif isinstance(v, YScalar):
                v = YScalar(refs.get(str(v.value), v.value), v.loc)
        out.append((k, v))
    return YMap(tuple(out), item.loc)


__all__ = ["IGNORED", "NOT_MAPPED", "KerasConfig", "KerasLayer", "model_node", "read_config", "snake_case"]
