"""Keras layer names and Keras' ``padding='same'``, mapped onto the torch layer types.

A Keras layer (``Conv2D``, ``Dense``, ``MaxPooling2D``, ``BatchNormalization``, ...)
is the torch layer type it corresponds to, with Keras' argument names, Keras'
defaults and an optional ``activation``. Keras' ``'same'`` works for any stride:
``o = ceil(i/s)``, padding ``max((o-1)s + k_eff - i, 0)`` in total, the extra unit
after. torch has no such mode, so it is built (and verified) as explicit
asymmetric zero padding followed by the torch layer with padding 0. Shapes are
torch's (C, H, W); Keras prints (H, W, C).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import symbolic as sym
from ..formula import Step, ceil, frac, output_dim, renamed, var
from . import steps
from .base import REQUIRED, Arg, Args, Ctx, LayerType, Shape, channels_first, in_layout
from .merge import Concat
from .window import ALL, GLOBAL, Affine, Channels

INPUT_PADS = "(input padding)"
"""A conversion's zero padding of the input, per spatial dim (before, after): what torch needs besides its arguments."""
Convert = Callable[[Mapping[str, Any], dict[str, Any], list[str], Sequence[Any]], None]
"""A Keras layer's values, the torch values to complete in place, the given names, the input shapes."""

ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax", "elu": "ELU",
               "selu": "SELU", "gelu": "GELU", "swish": "SiLU", "silu": "SiLU", "softplus": "Softplus",
               "relu6": "ReLU6", "leaky_relu": "LeakyReLU", "hard_sigmoid": "Hardsigmoid", "hard_swish": "Hardswish",
               "hard_silu": "Hardswish", "mish": "Mish", "log_softmax": "LogSoftmax", "linear": None}  # fmt: skip
_ACTIVATION = Arg("str", None, choices=tuple(ACTIVATIONS), nullable=True)


def snake_case(type_name: str) -> str:
    """Keras' automatic layer name: ``MaxPooling2D`` -> ``max_pooling2d``, ``ReLU`` -> ``re_lu``."""
    text = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", type_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", text).lower()


def keras_name(type_name: str, n: int) -> str:
    """The name Keras gives the ``n``-th (from 0) unnamed layer of a type: ``dense``, ``dense_1``, ``dense_2``."""
    base = snake_case(type_name)
    return base if n == 0 else f"{base}_{n}"


def _activation_module(name: str | None, nn: Any) -> Any:
    torch_name = ACTIVATIONS.get(name or "linear")
    if torch_name is None:
        return None
    # Keras' softmax acts on the last axis, the channels of its (..., C) layout: dim 1 of torch's (C, ...)
    if torch_name in ("Softmax", "LogSoftmax"):
        return getattr(nn, torch_name)(dim=1)
    return getattr(nn, torch_name)()


class Keras(LayerType):
    """A Keras layer as a torch layer type: renamed arguments, Keras 'same' padding, an activation."""

    def __init__(self, name: str, inner: LayerType | Callable[[int], LayerType], args: Mapping[str, Arg],
                 rename: Mapping[str, str], ndim: int = 0, same: bool = False,
                 drop: Sequence[str] = (), convert: Convert | None = None, torch: str = "",
                 rules: Mapping[str, str] | None = None, family: str | None = None) -> None:  # fmt: skip
        self.name, self._inner, self.rename, self.ndim, self.same = name, inner, dict(rename), ndim, same
        self.args = dict(args)
        self.drop = tuple(drop)  # Keras-only arguments with no torch meaning for shapes
        self.convert = convert  # Keras values -> the torch type's values, where a rename is not enough
        self.rules = dict(rules or {})  # the rules in Keras' terms, where they read differently from torch's
        probe = inner if isinstance(inner, LayerType) else inner(1)
        self.inferred = probe.inferred
        self.family = family or probe.family
        self.merge = probe.merge
        self.doc = (
            f"Keras {name}: torch {torch or (probe.name if isinstance(inner, LayerType) else 'BatchNorm1d/2d/3d')}"
        )

    def inner_type(self, rank: int) -> LayerType:
        """The torch layer type for an input of this per-sample rank."""
        return self._inner if isinstance(self._inner, LayerType) else self._inner(rank)

    def infer(self, arg: str, shape: Shape) -> Any:
        return self.inner_type(len(shape)).infer(arg, shape)

    def unwrap(self, a: Args, ins: Sequence[Shape]) -> tuple[LayerType, Args, list[tuple[Any, Any]]]:
        """The torch layer type, its arguments, and the (before, after) zero padding per spatial dim."""
        inner = self.inner_type(len(ins[0]))
        values: dict[str, Any] = {}
        given: list[str] = []
        padding = a.values.get("padding")
        for k, v in a.values.items():
            if k in ("activation", *self.drop) or (self.same and k == "padding" and isinstance(v, str)):
                continue
            if self.convert is not None and k not in self.rename and k not in inner.args and k not in self.inferred:
                continue  # a Keras-only argument: the conversion reads it
            t = self.rename.get(k, k)
            values[t] = v
            if k in a.given:
                given.append(t)
        for k, arg in inner.args.items():
            if k not in values:  # torch defaults, per dim where torch takes one value per dim
                per_dim = arg.kind in ("size", "floats") and isinstance(arg.default, (int, float)) and self.ndim
                values[k] = (arg.default,) * self.ndim if per_dim else arg.default
            elif arg.default is REQUIRED and k not in given:
                given.append(k)  # required by torch, defaulted by Keras (pool_size 2): pass it on
        spatial = ins[0][1:] if self.ndim else ()
        pads: list[tuple[Any, Any]] = [(0, 0)] * len(spatial)
        if self.same and isinstance(padding, str):
            values["padding"] = (0,) * self.ndim
            if padding == "same":
                pads = [_same_pads(i, *self._ksd(values, j)) for j, i in enumerate(spatial)]
        before = dict(values)
        if self.convert is not None:
            self.convert(a.values, values, given, ins)
            pads = list(values.pop(INPUT_PADS, pads))
        written = {self.rename.get(k, k): v for k, v in a.written.items() if self.rename.get(k, k) in values}
        written = {k: v for k, v in written.items() if k in given and values[k] is before.get(k)}  # not converted
        values = {k: v for k, v in values.items() if k in inner.args or k in inner.inferred}
        return inner, Args(values, tuple(g for g in given if g in values), written), pads

    def _ksd(self, values: Mapping[str, Any], j: int) -> tuple[Any, Any, Any]:
        k = values["kernel_size"][j]
        s = values["stride"][j] if values.get("stride") is not None else k
        d = values.get("dilation", (1,) * self.ndim)[j]
        return k, s, d

    def _padded(self, a: Args, ins: Sequence[Shape]) -> tuple[LayerType, Args, list[tuple[Any, Any]], Shape]:
        inner, ia, pads = self.unwrap(a, ins)
        shape = ins[0]
        if self.ndim:
            shape = (shape[0], *(i + lo + hi for i, (lo, hi) in zip(shape[1:], pads)))
        return inner, ia, pads, shape

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        if isinstance(self._inner, LayerType):
            self._inner.check_input(shape, ctx)
        else:
            self._need_rank(shape, (1, 2, 3, 4), ctx)
            self._inner(len(shape)).check_input(shape, ctx)

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.output(ia, [shape, *ins[1:]], ctx)

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.params(ia, [shape, *ins[1:]])

    def buffers(self, a: Args, ins: Sequence[Shape]) -> Any:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.buffers(ia, [shape, *ins[1:]])

    def running_stats(self, a: Args, ins: Sequence[Shape]) -> Any:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.running_stats(ia, [shape, *ins[1:]])

    def macs(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.macs(ia, [shape, *ins[1:]], out)

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        inner, ia, pads, shape = self._padded(a, ins)
        w = inner.window(ia, [shape, *ins[1:]], dim, out)
        if dim < len(pads) and pads[dim][0] != 0 and isinstance(w, Affine):
            w = dataclasses.replace(w, p=w.p + pads[dim][0])
        return w

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        inner, ia, _, shape = self._padded(a, ins)
        if a.values.get("activation") in ("softmax", "log_softmax"):
            return ALL  # the softmax normalises over the channels after the layer
        return inner.channel_rule(ia, [shape, *ins[1:]], out)

    def mixes_samples(self, a: Args, ins: Sequence[Shape]) -> str | None:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.mixes_samples(ia, [shape, *ins[1:]])

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        # Keras 'same': explicit zero padding, then the torch layer's twin; the activation acts value by value.
        inner, ia, pads, shape = self._padded(a, ins)
        x = kit.pad(xs[0], pads) if any(p != (0, 0) for p in pads) else xs[0]
        y = inner.twin(ia, [shape, *ins[1:]], out, [x, *xs[1:]], kit)
        return kit.mix_channels(y) if a.values.get("activation") in ("softmax", "log_softmax") else y

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        inner, ia, pads, shape = self._padded(a, ins)
        modules = []
        if any(p != (0, 0) for p in pads):
            flat = [int(v) for lo, hi in reversed(pads) for v in (lo, hi)]  # torch pads the last dim first
            fill = float("-inf") if inner.name.startswith("MaxPool") else 0.0
            modules.append(getattr(nn, f"ConstantPad{self.ndim}d")(tuple(flat), fill))
        modules.append(inner.build(ia, nn, [shape, *ins[1:]]))
        act = _activation_module(a.values.get("activation"), nn)
        if act is not None:
            modules.append(act)
        return modules[0] if len(modules) == 1 else nn.Sequential(*modules)

    def explain(self, a: Args, ins: Sequence[Shape], out: Shape) -> list[Step]:
        inner, ia, pads, shape = self._padded(a, ins)
        keras_names = {t: k for k, t in self.rename.items()}  # C_out = filters, not out_channels
        found = [dataclasses.replace(s, formula=renamed(s.formula, keras_names),
                                     env={keras_names.get(k, k): v for k, v in s.env.items()})
                 if s.formula is not None else s for s in inner.explain(ia, [shape, *ins[1:]], out)]  # fmt: skip
        if not (self.same and a.values.get("padding") == "same"):
            return found
        sizes = []
        for j, x in enumerate(steps.letters(self.ndim)):
            s = self._ksd(ia.values, j)[1]
            env = {f"{x}_in": ins[0][1 + j], "s": s}
            lo, hi = pads[j]
            note = (f"Keras 'same': total padding max(({x}_out - 1)*s + d(k-1) + 1 - {x}_in, 0) = "
                    f"{sym.to_text(lo + hi)}, {sym.to_text(lo)} before and {sym.to_text(hi)} after")  # fmt: skip
            sizes.append(Step(f"output {x}", f"{x}_out", ceil(frac(var(f"{x}_in"), var("s"))), env, out[1 + j], note,
                              quantity=output_dim(1 + j)))  # fmt: skip
        return sizes + [s for s in found if not (s.quantity and s.quantity.kind == "output" and s.quantity.dim > 0)]

    def formulas(self) -> dict[str, str]:
        probe = self.inner_type(self.ndim + 1 if self.ndim else 3)
        out = dict(probe.formulas())
        if self.same:
            out["output"] = "padding 'same': ceil(i/s) (Keras, any stride); 'valid': " + out.get("output", "")
        out["torch"] = probe.name
        return {**out, **self.rules}


class KerasPadding(Keras):
    """Keras ``ZeroPaddingND``: ``padding`` is one size for every spatial dim, or one per dim (both sides)."""

    def unwrap(self, a: Args, ins: Sequence[Shape]) -> tuple[LayerType, Args, list[tuple[Any, Any]]]:
        inner, ia, pads = super().unwrap(a, ins)
        per_dim = ia.values["padding"]  # Keras lists dims in order (d, h, w); torch from the last dim back
        values = {**ia.values, "padding": tuple(p for v in reversed(per_dim) for p in (v, v))}
        return inner, Args(values, ia.given, {**ia.written, "padding": values["padding"]}), pads


def _same_pads(i: Any, k: Any, s: Any, d: Any) -> tuple[Any, Any]:
    o = sym.floordiv(i + s - 1, s)
    total = sym.maximum((o - 1) * s + d * (k - 1) + 1 - i, 0)
    before = sym.floordiv(total, 2)
    return before, total - before


class GlobalPool(LayerType):
    """Keras ``GlobalAveragePoolingND`` / ``GlobalMaxPoolingND``: (C, *spatial) -> (C,), or (C, 1, ...) with keepdims."""

    family = "pooling"

    def __init__(self, kind: str, ndim: int) -> None:
        self.kind, self.ndim = kind, ndim
        self.name = f"Global{'Average' if kind == 'Avg' else 'Max'}Pooling{ndim}D"
        self.args = {"keepdims": Arg("bool", False)}

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        return (ins[0][0], *((1,) * self.ndim if a["keepdims"] else ()))

    def kept_shape(self, a: Args, ins: Sequence[Shape], out: Shape) -> Shape | None:
        if a["keepdims"]:
            return None
        return (ins[0][0], *(1 for _ in ins[0][1:]))  # every spatial dim pooled to one unit, then dropped

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        return GLOBAL

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        # Max pooling's gradient reaches only the argmax: the twin averages, as GlobalAveragePooling does.
        y = kit.global_average(xs[0])
        return kit.reshape(y, out) if a["keepdims"] else y

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        pool = getattr(nn, f"Adaptive{self.kind}Pool{self.ndim}d")(1)
        return pool if a["keepdims"] else nn.Sequential(pool, nn.Flatten())

    def formulas(self) -> dict[str, str]:
        return {"output": "(C,): one value per channel ((C, 1, ...) with keepdims)", "params": "0"}


class KerasReshape(LayerType):
    """Keras ``Reshape(target_shape)``: Keras' (..., C) order is reshaped, so cnncalc's (C, ...) moves around it."""

    family = "reshape"

    name = "Reshape"
    args = {"target_shape": Arg("ints")}

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        pass

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        target = list(a["target_shape"])
        total = sym.product(ins[0])
        if any(sym.is_concrete(t) and t < 1 and t != -1 for t in target) or target.count(-1) > 1:
            raise ctx.fail(f"target_shape {target}: sizes are positive, and one of them may be -1 (inferred)",
                           arg="target_shape")  # fmt: skip
        if -1 in target:
            rest = sym.product([t for t in target if t != -1])
            ctx.require(sym.equal(sym.mod(total, rest), 0),
                        f"target_shape {target}: the input has {sym.to_text(total)} values, not a multiple of "
                        f"{sym.to_text(rest)}", arg="target_shape")  # fmt: skip
            target = [sym.floordiv(total, rest) if t == -1 else t for t in target]
        ctx.require(sym.equal(sym.product(target), total),
                    f"target_shape {list(a['target_shape'])} has {sym.to_text(sym.product(target))} values, the input "
                    f"{ctx.shape(ins[0])} has {sym.to_text(total)}", "the sizes must multiply to the input's size",
                    "target_shape")  # fmt: skip
        return channels_first(tuple(target), True)

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        return GLOBAL  # (the exact maps use gather)

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        return ALL

    def gather(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        src_last = in_layout(ins[0], True)
        out_last = in_layout(out, True)

        def source(index: Sequence[int]) -> tuple[int, ...]:
            flat = 0
            for i, n in zip(in_layout(tuple(index), True), out_last):
                flat = flat * int(n) + int(i)
            found = []
            for n in reversed(src_last):
                flat, i = divmod(flat, int(n))
                found.append(i)
            return channels_first(tuple(reversed(found)), True)

        return source

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        rank = len(ins[0])
        x = kit.permute(xs[0], [*range(1, rank), 0]) if rank > 1 else xs[0]
        y = kit.reshape(x, in_layout(out, True))
        return kit.permute(y, [len(out) - 1, *range(len(out) - 1)]) if len(out) > 1 else y

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        from ..verify.opmodules import KerasReshapeModule

        return KerasReshapeModule(tuple(int(t) for t in a["target_shape"]))

    def formulas(self) -> dict[str, str]:
        return {"output": "target_shape, in Keras' (..., C) order", "params": "0"}


def _pairs(values: Mapping[str, Any], key: str, ndim: int) -> list[tuple[Any, Any]]:
    """One size, one per dim, or one (before, after) pair per dim (Keras' ZeroPadding/Cropping)."""
    v = values[key]
    if not isinstance(v, tuple):
        return [(v, v)] * ndim
    return [p if isinstance(p, tuple) else (p, p) for p in v]


def _bn(values: Mapping[str, Any], torch: dict[str, Any], given: list[str], ins: Sequence[Any]) -> None:
    center, scale = values.get("center", True), values.get("scale", True)
    if center != scale:
        torch["affine"] = None  # refused by the type (check_input); torch has no half-affine BatchNorm
    elif not center:
        torch["affine"] = False
        given.append("affine")


class KerasBatchNorm(Keras):
    """Keras ``BatchNormalization``: torch's BatchNorm1d/2d/3d by the input rank, over Keras' channel axis (-1)."""

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        axis = a.values.get("axis", -1)
        if axis not in (-1, len(ins[0])):
            raise ctx.fail(f"axis {axis} is not the channel axis: cnncalc normalises Keras' channels (axis -1)",
                           "Keras' default axis=-1 is the one cnncalc reads", "axis")  # fmt: skip
        if a.values.get("center", True) != a.values.get("scale", True):
            raise ctx.fail("center and scale differ: torch's BatchNorm has both learned vectors or neither",
                           "cnncalc builds it in torch; give center and scale the same value", "center")  # fmt: skip
        return super().output(a, ins, ctx)


def _dense(rank: int, torch_types: Mapping[str, LayerType]) -> LayerType:
    # Keras' Dense acts on the last axis, the channels of (..., C): a 1x1 convolution over cnncalc's (C, ...)
    return torch_types["Linear"] if rank <= 1 else torch_types[f"Conv{min(rank - 1, 3)}d"]


def _dense_args(values: Mapping[str, Any], torch: dict[str, Any], given: list[str], ins: Sequence[Any]) -> None:
    rank = len(ins[0]) if ins else 1
    if rank > 1:
        names = {"out_features": "out_channels", "in_features": "in_channels"}
        for old, new in names.items():
            if old in torch:
                torch[new] = torch.pop(old)
        torch["kernel_size"] = (1,) * (rank - 1)
        for k in ("stride", "padding", "dilation"):
            torch[k] = (torch[k],) * (rank - 1) if isinstance(torch[k], int) else torch[k]
        given[:] = [names.get(g, g) for g in given] + ["kernel_size"]


def _transpose(ndim: int) -> Convert:
    def convert(values: Mapping[str, Any], torch: dict[str, Any], given: list[str], ins: Sequence[Any]) -> None:
        # Keras' deconv_output_length: 'valid' (i-1)s + k_eff, 'same' i*s; with output_padding, padding k_eff//2
        op = values.get("output_padding")
        pads, extra, inputs = [], [], [(0, 0)] * ndim
        for j in range(ndim):
            k, s, d = torch["kernel_size"][j], torch["stride"][j], torch["dilation"][j]
            k_eff = d * (k - 1) + 1
            if op is not None:
                o = op[j] if isinstance(op, tuple) else op
                pads.append(k_eff // 2 if values["padding"] == "same" else 0)
                extra.append(o)
            elif values["padding"] == "same":  # i*s: 2p - output_padding = k_eff - s
                total = k_eff - s
                p = (total + 1) // 2 if total >= 0 else 0
                if s == 1 and total % 2 == 1:  # torch's output_padding must stay below the stride: pad the input
                    inputs[j] = (0, 1)
                    p, total = p, 2 * p
                pads.append(p)
                extra.append(2 * p - total)
            else:  # (i-1)s + max(k_eff, s)
                pads.append(0)
                extra.append(sym.maximum(k_eff, s) - k_eff)
        torch["padding"], torch["output_padding"] = tuple(pads), tuple(extra)
        torch[INPUT_PADS] = tuple(inputs)
        given += ["padding", "output_padding"]

    return convert


def _depthwise(values: Mapping[str, Any], torch: dict[str, Any], given: list[str], ins: Sequence[Any]) -> None:
    c = ins[0][0] if ins else 1
    torch["groups"], torch["out_channels"] = c, c * values["depth_multiplier"]
    given += ["groups", "out_channels"]


def _upsampling(ndim: int) -> Convert:
    def convert(values: Mapping[str, Any], torch: dict[str, Any], given: list[str], ins: Sequence[Any]) -> None:
        size = values["size"]
        torch["scale_factor"] = tuple(float(v) for v in (size if isinstance(size, tuple) else (size,) * ndim))
        torch["size"] = None
        given[:] = [g for g in given if g != "size"]
        mode = values.get("interpolation", "nearest")
        torch["mode"] = {"bilinear": "bilinear" if ndim == 2 else "trilinear", "nearest": "nearest"}.get(mode, mode)
        given += ["scale_factor", "mode"]

    return convert


class KerasConcatenate(Concat):
    """Keras ``Concatenate(axis=-1)``: axes count (batch, *spatial, C), so -1 is the channels: ``torch.cat`` on
    cnncalc's (batch, C, *spatial) along the matching dim."""

    name = "Concatenate"
    args = {"axis": Arg("int", -1)}

    def torch_args(self, a: Args, ins: Sequence[Shape]) -> Args:
        """The same layer as torch's Concat arguments."""
        rank = len(ins[0]) + 1
        axis = a["axis"] % rank if -rank <= a["axis"] < rank else a["axis"]
        dim = 1 if axis == rank - 1 else (axis + 1 if 0 < axis < rank - 1 else axis)
        return Args({"dim": dim}, ("dim",), {"dim": dim})

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        return super().output(self.torch_args(a, ins), ins, ctx)

    def axis(self, a: Args, ins: Sequence[Shape]) -> int:
        return super().axis(self.torch_args(a, ins), ins)

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        return super().build(self.torch_args(a, ins), nn, ins)

    def formulas(self) -> dict[str, str]:
        return {"output": "sum of the inputs' sizes along axis (-1: the channels)", "params": "0"}


def same_variants(torch_types: Mapping[str, LayerType]) -> dict[str, LayerType]:
    """Under ``convention: keras``, torch-named convolutions take Keras' 'same' (any stride)."""
    out: dict[str, LayerType] = {}
    for n in (1, 2, 3):
        t = torch_types[f"Conv{n}d"]
        out[t.name] = Keras(t.name, t, t.args, {}, n, same=True)
    return out


def catalogue(torch_types: Mapping[str, LayerType]) -> list[LayerType]:
    """The Keras names, built on the torch catalogue."""
    out: list[LayerType] = []
    pad = Arg("str", "valid", choices=("valid", "same"))
    for n in (1, 2, 3):
        out.append(Keras(f"Conv{n}D", torch_types[f"Conv{n}d"], {
            "filters": Arg("int", minimum=1), "kernel_size": Arg("size", minimum=1),
            "strides": Arg("size", 1, minimum=1), "padding": pad, "dilation_rate": Arg("size", 1, minimum=1),
            "groups": Arg("int", 1, minimum=1), "use_bias": Arg("bool", True), "activation": _ACTIVATION,
        }, {"filters": "out_channels", "strides": "stride", "dilation_rate": "dilation", "use_bias": "bias"},
            n, same=True))  # fmt: skip
        for keras_kind, kind in (("MaxPooling", "Max"), ("AveragePooling", "Avg")):
            out.append(Keras(f"{keras_kind}{n}D", torch_types[f"{kind}Pool{n}d"], {
                "pool_size": Arg("size", 2, minimum=1), "strides": Arg("size", None, minimum=1, nullable=True),
                "padding": pad,
            }, {"pool_size": "kernel_size", "strides": "stride"}, n, same=True))  # fmt: skip
            out.append(GlobalPool(kind, n))
        out.append(KerasPadding(f"ZeroPadding{n}D", torch_types[f"ZeroPad{n}d"],
                                {"padding": Arg("size", 1, minimum=0)}, {}, n))  # fmt: skip
    dense = {"units": Arg("int", minimum=1), "use_bias": Arg("bool", True), "activation": _ACTIVATION}
    out.append(Keras("Dense", lambda rank: _dense(rank, torch_types), dense, {"units": "out_features", "use_bias": "bias"},
                     convert=_dense_args, torch="Linear (a 1x1 convolution on (..., C))"))  # fmt: skip
    bn = {1: torch_types["BatchNorm1d"], 2: torch_types["BatchNorm1d"], 3: torch_types["BatchNorm2d"],
          4: torch_types["BatchNorm3d"]}  # fmt: skip
    out.append(Keras("Activation", torch_types["Identity"], {"activation": Arg("str", choices=tuple(ACTIVATIONS))}, {},
                     family="activation"))  # fmt: skip
    out.append(KerasBatchNorm("BatchNormalization", lambda rank: bn[rank], {
        "axis": Arg("int", -1), "epsilon": Arg("float", 1e-3, low=0.0), "momentum": Arg("float", 0.99),
        "center": Arg("bool", True), "scale": Arg("bool", True)}, {"epsilon": "eps"}, drop=("momentum",),
        convert=_bn))  # fmt: skip
    conv_args = {"filters": Arg("int", minimum=1), "kernel_size": Arg("size", minimum=1),
                 "strides": Arg("size", 1, minimum=1), "padding": pad, "dilation_rate": Arg("size", 1, minimum=1),
                 "use_bias": Arg("bool", True), "activation": _ACTIVATION}  # fmt: skip
    conv_rename = {"filters": "out_channels", "strides": "stride", "dilation_rate": "dilation", "use_bias": "bias"}
    for n in (1, 2, 3):
        out.append(Keras(f"Conv{n}DTranspose", torch_types[f"ConvTranspose{n}d"], {
            **conv_args, "output_padding": Arg("size", None, minimum=0, nullable=True)}, conv_rename, n,
            convert=_transpose(n), rules={"output": "Keras: 'valid' (i-1)s + max(k_eff, s), 'same' i·s; with "
                                          "output_padding (i-1)s + k_eff (valid) or k_eff mod 2 (same) + "
                                          "output_padding; k_eff = d(k-1) + 1"}))  # fmt: skip
        out.append(Keras(f"UpSampling{n}D", torch_types["Upsample"], {
            "size": Arg("size", 2, minimum=1),
            **({"interpolation": Arg("str", "nearest", choices=("nearest", "bilinear"))} if n == 2 else {})},
            {}, n, convert=_upsampling(n)))  # fmt: skip
        out.append(Keras(f"SpatialDropout{n}D", torch_types[f"Dropout{n}d"],
                         {"rate": Arg("float", low=0.0, high=1.0)}, {"rate": "p"}))  # fmt: skip
    for n in (1, 2):
        depthwise = {k: v for k, v in conv_args.items() if k != "filters"}
        out.append(Keras(f"DepthwiseConv{n}D", torch_types[f"Conv{n}d"], {
            **depthwise, "depth_multiplier": Arg("int", 1, minimum=1)}, conv_rename, n, same=True,
            convert=_depthwise, rules={"channels": "C·depth_multiplier (groups = C)",
                                       "params": "C·depth_multiplier·prod(k) + (C·depth_multiplier if use_bias)"}))  # fmt: skip
    out.append(KerasConcatenate())
    out.append(KerasReshape())
    for name, args in (("Rescaling", {"scale": Arg("float", 1.0), "offset": Arg("float", 0.0)}),
                       ("GaussianNoise", {"stddev": Arg("float", low=0.0, high=1.0)}),
                       ("GaussianDropout", {"rate": Arg("float", low=0.0, high=1.0)})):  # fmt: skip
        out.append(Keras(name, torch_types["Identity"], args, {}, drop=tuple(args), torch="Identity (at inference)"))
    return out
