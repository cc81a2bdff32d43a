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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import symbolic as sym
from ..formula import Step, ceil, frac, output_dim, renamed, var
from . import steps
from .base import REQUIRED, Arg, Args, Ctx, LayerType, Shape
from .window import ALL, GLOBAL, Affine, Channels

ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax", "elu": "ELU",
               "selu": "SELU", "gelu": "GELU", "swish": "SiLU", "silu": "SiLU", "softplus": "Softplus",
               "linear": None}  # fmt: skip
_ACTIVATION = Arg("str", None, choices=tuple(ACTIVATIONS), nullable=True)


def _activation_module(name: str | None, nn: Any) -> Any:
    torch_name = ACTIVATIONS.get(name or "linear")
    if torch_name is None:
        return None
    # Keras' softmax acts on the last axis, the channels of its (..., C) layout: dim 1 of torch's (C, ...)
    return nn.Softmax(dim=1) if torch_name == "Softmax" else getattr(nn, torch_name)()


class Keras(LayerType):
    """A Keras layer as a torch layer type: renamed arguments, Keras 'same' padding, an activation."""

    def __init__(self, name: str, inner: LayerType | Callable[[int], LayerType], args: Mapping[str, Arg],
                 rename: Mapping[str, str], ndim: int = 0, same: bool = False,
                 drop: Sequence[str] = (), family: str | None = None) -> None:  # fmt: skip
        self.name, self._inner, self.rename, self.ndim, self.same = name, inner, dict(rename), ndim, same
        self.args = dict(args)
        self.drop = tuple(drop)  # Keras-only arguments with no torch meaning for shapes
        probe = inner if isinstance(inner, LayerType) else inner(2)
        self.inferred = probe.inferred
        self.family = family or probe.family
        self.doc = f"Keras {name}: torch {probe.name if isinstance(inner, LayerType) else 'BatchNorm1d/2d/3d'}"

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
        written = {self.rename.get(k, k): v for k, v in a.written.items() if self.rename.get(k, k) in values}
        return inner, Args(values, tuple(given), written), pads

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

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.output(ia, [shape], ctx)

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.params(ia, [shape])

    def buffers(self, a: Args, ins: Sequence[Shape]) -> Any:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.buffers(ia, [shape])

    def running_stats(self, a: Args, ins: Sequence[Shape]) -> Any:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.running_stats(ia, [shape])

    def macs(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.macs(ia, [shape], out)

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        inner, ia, pads, shape = self._padded(a, ins)
        w = inner.window(ia, [shape], dim, out)
        if dim < len(pads) and pads[dim][0] != 0 and isinstance(w, Affine):
            w = dataclasses.replace(w, p=w.p + pads[dim][0])
        return w

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        inner, ia, _, shape = self._padded(a, ins)
        if a.values.get("activation") == "softmax":
            return ALL  # the softmax normalises over the channels after the layer
        return inner.channel_rule(ia, [shape], out)

    def mixes_samples(self, a: Args, ins: Sequence[Shape]) -> str | None:
        inner, ia, _, shape = self._padded(a, ins)
        return inner.mixes_samples(ia, [shape])

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        # Keras 'same': explicit zero padding, then the torch layer's twin; the activation acts value by value.
        inner, ia, pads, shape = self._padded(a, ins)
        x = kit.pad(xs[0], pads) if any(p != (0, 0) for p in pads) else xs[0]
        y = inner.twin(ia, [shape], out, [x], kit)
        return kit.mix_channels(y) if a.values.get("activation") == "softmax" else y

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        inner, ia, pads, shape = self._padded(a, ins)
        modules = []
        if any(p != (0, 0) for p in pads):
            flat = [int(v) for lo, hi in reversed(pads) for v in (lo, hi)]  # torch pads the last dim first
            fill = float("-inf") if inner.name.startswith("MaxPool") else 0.0
            modules.append(getattr(nn, f"ConstantPad{self.ndim}d")(tuple(flat), fill))
        modules.append(inner.build(ia, nn, [shape]))
        act = _activation_module(a.values.get("activation"), nn)
        if act is not None:
            modules.append(act)
        return modules[0] if len(modules) == 1 else nn.Sequential(*modules)

    def explain(self, a: Args, ins: Sequence[Shape], out: Shape) -> list[Step]:
        inner, ia, pads, shape = self._padded(a, ins)
        keras_names = {t: k for k, t in self.rename.items()}  # C_out = filters, not out_channels
        found = [dataclasses.replace(s, formula=renamed(s.formula, keras_names),
                                     env={keras_names.get(k, k): v for k, v in s.env.items()})
                 if s.formula is not None else s for s in inner.explain(ia, [shape], out)]  # fmt: skip
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
        return out


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
    """Keras ``GlobalAveragePoolingND`` / ``GlobalMaxPoolingND``: (C, *spatial) -> (C,)."""

    family = "pooling"

    def __init__(self, kind: str, ndim: int) -> None:
        self.kind, self.ndim = kind, ndim
        self.name = f"Global{'Average' if kind == 'Avg' else 'Max'}Pooling{ndim}D"
        self.args = {}

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        return (ins[0][0],)

    def kept_shape(self, a: Args, ins: Sequence[Shape], out: Shape) -> Shape | None:
        return (ins[0][0], *(1 for _ in ins[0][1:]))  # every spatial dim pooled to one unit, then dropped

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        return GLOBAL

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        # Max pooling's gradient reaches only the argmax: the twin averages, as GlobalAveragePooling does.
        return kit.global_average(xs[0])

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        return nn.Sequential(getattr(nn, f"Adaptive{self.kind}Pool{self.ndim}d")(1), nn.Flatten())

    def formulas(self) -> dict[str, str]:
        return {"output": "(C,): one value per channel", "params": "0"}


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
    out.append(Keras("Dense", torch_types["Linear"], {"units": Arg("int", minimum=1), "use_bias": Arg("bool", True),
                                                     "activation": _ACTIVATION},
                     {"units": "out_features", "use_bias": "bias"}))  # fmt: skip
    bn = {1: torch_types["BatchNorm1d"], 2: torch_types["BatchNorm1d"], 3: torch_types["BatchNorm2d"],
          4: torch_types["BatchNorm3d"]}  # fmt: skip
    out.append(Keras("Activation", torch_types["Identity"], {"activation": Arg("str", choices=tuple(ACTIVATIONS))}, {},
                     family="activation"))  # fmt: skip
    out.append(Keras("BatchNormalization", lambda rank: bn[rank], {"epsilon": Arg("float", 1e-3, low=0.0),
                                                                   "momentum": Arg("float", 0.99)},
                     {"epsilon": "eps"}, drop=("momentum",)))  # fmt: skip
    return out
