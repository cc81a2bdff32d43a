"""An independent, eager torch reference for random architecture files.

It walks the layer list itself, instantiating each layer from the tensor that actually arrives
(in_channels and in_features read from the tensor, never from cnncalc), runs it, and records shapes
and counts. torch's own modules where the format names a torch class; Keras names, merges and tensor
operations written here from Keras' and torch's documentation (Keras 'same' padding, global pooling,
broadcasting products, ``@``, learned tensors). cnncalc must accept a file exactly when this succeeds,
with the same numbers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

INFER = {
    "in_channels": lambda x: x.shape[1],
    "num_features": lambda x: x.shape[1],
    "num_channels": lambda x: x.shape[1],
    "in_features": lambda x: x.shape[-1],
    "embed_dim": lambda x: x.shape[-1],
}
INFERRED_BY_TYPE = {
    "Conv": ["in_channels"],
    "ConvTranspose": ["in_channels"],
    "BatchNorm": ["num_features"],
    "InstanceNorm": ["num_features"],
    "GroupNorm": ["num_channels"],
    "Linear": ["in_features"],
    "MultiheadAttention": ["embed_dim"],
}
KERAS_ACTIVATIONS = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh, "elu": torch.nn.ELU,
                     "selu": torch.nn.SELU, "gelu": torch.nn.GELU, "swish": torch.nn.SiLU, "silu": torch.nn.SiLU,
                     "softplus": torch.nn.Softplus}  # fmt: skip


def batched_ranks(type_name: str) -> tuple[int, ...] | None:
    """torch's documented batched input ranks for 1d/2d/3d layers; other ranks are read as unbatched."""
    if type_name == "BatchNorm1d":
        return (2, 3)
    for n in (1, 2, 3):
        if type_name.endswith(f"{n}d"):
            return (n + 2,)
    return None


class Rejected(Exception):
    """torch refused the network (an error, an empty tensor, or a changed batch size)."""


def _inferred(type_name: str) -> list[str]:
    for prefix, names in INFERRED_BY_TYPE.items():
        if type_name.startswith(prefix) and not (prefix == "Conv" and type_name.startswith("ConvTranspose")):
            return names
    return INFERRED_BY_TYPE["ConvTranspose"] if type_name.startswith("ConvTranspose") else []


def _per_dim(v: Any, n: int) -> list[int]:
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def _keras_same(x: Any, k: Sequence[int], s: Sequence[int], d: Sequence[int], fill: float = 0.0) -> Any:
    """Keras 'same': o = ceil(i/s), total padding max((o-1)s + d(k-1) + 1 - i, 0), the extra unit after."""
    pads: list[int] = []
    for i, kk, ss, dd in zip(x.shape[2:], k, s, d):
        o = -(-i // ss)
        total = max((o - 1) * ss + dd * (kk - 1) + 1 - i, 0)
        pads.append(total // 2)
        pads.append(total - total // 2)
    flat = [v for j in reversed(range(len(k))) for v in pads[2 * j : 2 * j + 2]]
    return F.pad(x, flat, value=fill) if any(flat) else x


class _Fn(torch.nn.Module):
    """A function as a module, with learned tensors of the given shapes (for counting)."""

    def __init__(self, fn: Callable[..., Any], params: Sequence[Sequence[int]] = ()) -> None:
        super().__init__()
        self.fn = fn
        self.learned = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(*p)) for p in params])

    def forward(self, *xs: Any) -> Any:
        return self.fn(*xs, *self.learned)


def _keras(type_name: str, kw: dict[str, Any], x: Any) -> Any:
    """Keras' layers as Keras documents them, on torch's (C, ...) layout."""
    n = x.dim() - 2
    act = kw.pop("activation", None)
    post: Any = None
    if act == "softmax":
        post = torch.nn.Softmax(dim=1)  # Keras' last axis is the channel axis
    elif act not in (None, "linear"):
        post = KERAS_ACTIVATIONS[act]()
    if type_name.startswith("Conv") and not type_name.endswith("Transpose"):
        k, s, d = (
            _per_dim(kw["kernel_size"], n),
            _per_dim(kw.get("strides", 1), n),
            _per_dim(kw.get("dilation_rate", 1), n),
        )
        conv = getattr(torch.nn, f"Conv{n}d")(x.shape[1], kw["filters"], k, s, 0, d, kw.get("groups", 1),
                                              kw.get("use_bias", True))  # fmt: skip
        same = kw.get("padding", "valid") == "same"
        core: Any = torch.nn.Sequential(_Fn(lambda t: _keras_same(t, k, s, d)), conv) if same else conv
    elif type_name.startswith(("MaxPooling", "AveragePooling")):
        k = _per_dim(kw.get("pool_size", 2), n)
        strides = kw.get("strides")
        s = _per_dim(strides if strides is not None else k, n)
        maximum = type_name.startswith("Max")
        pool = getattr(torch.nn, f"{'Max' if maximum else 'Avg'}Pool{n}d")(k, s)
        fill = -math.inf if maximum else 0.0
        same = kw.get("padding", "valid") == "same"
        core = torch.nn.Sequential(_Fn(lambda t: _keras_same(t, k, s, [1] * n, fill)), pool) if same else pool
    elif type_name.startswith("Global"):
        reduce = torch.amax if "Max" in type_name else torch.mean
        keep = bool(kw.get("keepdims", False))
        core = _Fn(lambda t: reduce(t, dim=tuple(range(2, t.dim())), keepdim=keep))
    elif type_name.startswith("ZeroPadding"):
        p = _per_dim(kw.get("padding", 1), n)
        core = _Fn(lambda t: F.pad(t, [v for q in reversed(p) for v in (q, q)]))
    elif type_name == "Dense":  # on Keras' last axis: the channels, dim 1 of torch's layout
        linear = torch.nn.Linear(x.shape[1], kw["units"], kw.get("use_bias", True))
        core = linear if x.dim() == 2 else torch.nn.Sequential(_Fn(lambda t: t.movedim(1, -1)), linear,
                                                              _Fn(lambda t: t.movedim(-1, 1)))  # fmt: skip
    elif type_name.startswith("Conv") and type_name.endswith("Transpose"):
        # Keras' deconv_output_length: 'valid' (i-1)s + max(k_eff, s), 'same' i*s; with output_padding
        # (i-1)s + k_eff (valid) or k_eff % 2 (same) + output_padding: a full transposed convolution, then cropped
        k, s, d = (_per_dim(kw["kernel_size"], n), _per_dim(kw.get("strides", 1), n),
                   _per_dim(kw.get("dilation_rate", 1), n))  # fmt: skip
        conv = getattr(torch.nn, f"ConvTranspose{n}d")(x.shape[1], kw["filters"], k, s, bias=kw.get("use_bias", True),
                                                       dilation=d)  # fmt: skip
        op = kw.get("output_padding")
        same = kw.get("padding", "valid") == "same"

        def length(i: int, j: int) -> int:
            ke = d[j] * (k[j] - 1) + 1
            if op is None:
                return i * s[j] if same else (i - 1) * s[j] + max(ke, s[j])
            return (i - 1) * s[j] + (ke % 2 if same else ke) + (op[j] if isinstance(op, tuple) else op)

        def transposed(t: Any) -> Any:
            full = torch.nn.functional.pad(conv(t), [0, max(s)] * n)  # room for Keras' longer 'valid'
            for j in range(n):
                ke = d[j] * (k[j] - 1) + 1
                start = (ke // 2 if op is not None else max(ke - s[j], 0) - max(ke - s[j], 0) // 2) if same else 0
                full = full.narrow(2 + j, start, length(t.shape[2 + j], j))
            return full

        core = _Fn(transposed, [])
        core.conv = conv
    elif type_name.startswith("DepthwiseConv"):
        k, s, d = (_per_dim(kw["kernel_size"], n), _per_dim(kw.get("strides", 1), n),
                   _per_dim(kw.get("dilation_rate", 1), n))  # fmt: skip
        c = x.shape[1]
        conv = getattr(torch.nn, f"Conv{n}d")(
            c, c * kw.get("depth_multiplier", 1), k, s, 0, d, c, kw.get("use_bias", True)
        )
        same = kw.get("padding", "valid") == "same"
        core = torch.nn.Sequential(_Fn(lambda t: _keras_same(t, k, s, d)), conv) if same else conv
    elif type_name.startswith("UpSampling"):
        size = _per_dim(kw.get("size", 2), n)
        mode = {"bilinear": "bilinear"}.get(kw.get("interpolation", "nearest"), "nearest")
        core = torch.nn.Upsample(scale_factor=tuple(float(v) for v in size), mode=mode)
    elif type_name.startswith("SpatialDropout"):
        core = getattr(torch.nn, f"Dropout{n}d")(kw["rate"])
    elif type_name in ("Rescaling", "GaussianNoise", "GaussianDropout"):
        core = torch.nn.Identity()  # Keras: active in training only (Rescaling: an affine map of the values)
    elif type_name == "Reshape":  # Keras reshapes its (..., C) order
        target = list(kw["target_shape"])

        def reshape(t: Any) -> Any:
            y = (t.movedim(1, -1) if t.dim() > 2 else t).reshape(t.shape[0], *target)
            return y.movedim(-1, 1) if y.dim() > 2 else y

        core = _Fn(reshape)
    elif type_name == "BatchNormalization":
        center, scale = kw.get("center", True), kw.get("scale", True)
        if center != scale:
            raise Rejected("torch's BatchNorm has both learned vectors or neither")
        core = getattr(torch.nn, f"BatchNorm{max(x.dim() - 2, 1)}d")(x.shape[1], eps=float(kw.get("epsilon", 1e-3)),
                                                                    affine=bool(center))  # fmt: skip
    elif type_name == "Activation":
        core = torch.nn.Identity()
    else:
        raise KeyError(type_name)
    return core if post is None else torch.nn.Sequential(core, post)


def _tensor_op(type_name: str, kw: dict[str, Any], xs: list[Any]) -> Any:
    x = xs[0]
    if type_name == "Add":
        if any(o.shape != x.shape for o in xs[1:]):
            raise Rejected("Add of different shapes")  # the format's Add does not broadcast
        return _Fn(lambda *ts: sum(ts[1:], ts[0]))
    if type_name == "Concat":
        return _Fn(lambda *ts: torch.cat(ts, dim=kw.get("dim", 1)))
    if type_name == "Concatenate":  # Keras' axes (batch, *spatial, C): -1 is the channels
        rank = x.dim()
        axis = kw.get("axis", -1) % rank if -rank <= kw.get("axis", -1) < rank else kw.get("axis", -1)
        if axis == 0 or axis >= rank:
            raise Rejected("Concatenate over the batch or out of range")
        dim = 1 if axis == rank - 1 else axis + 1
        return _Fn(lambda *ts: torch.cat(ts, dim=dim))
    if type_name == "Mul":
        if any(o.dim() != x.dim() for o in xs[1:]):
            raise Rejected("Mul of different ranks")
        return _Fn(lambda *ts: math.prod(ts[1:], start=ts[0]))
    if type_name == "MatMul":
        return _Fn(lambda a, b: a @ b)
    if type_name in ("Scale", "Shift"):
        shape = list(kw["shape"])
        if len(shape) > x.dim() or (len(shape) == x.dim() and shape[0] != 1):
            raise Rejected("learned tensor over the batch")
        if type_name == "Scale":
            return _Fn(lambda t, p: t * p, [shape])
        return _Fn(lambda t, p: t + p, [shape])
    if type_name == "Prepend":
        dim = kw.get("dim", 1)
        token = list(kw["shape"])
        return _Fn(lambda t, p: torch.cat([p.expand(t.shape[0], *p.shape), t], dim=dim), [token])
    if type_name == "Select":
        if kw["dim"] % x.dim() == 0:
            raise Rejected("select over the batch")
        return _Fn(lambda t: t.select(kw["dim"], kw["index"]))
    if type_name in ("Mean", "Sum", "Amax"):
        dims = tuple(kw["dim"])
        if any(d % x.dim() == 0 for d in dims):
            raise Rejected("reduction over the batch")
        fn = {"Mean": torch.mean, "Sum": torch.sum, "Amax": torch.amax}[type_name]
        return _Fn(lambda t: fn(t, dim=dims, keepdim=kw.get("keepdim", False)))
    if type_name == "Permute":
        if kw["dims"][0] != 0:
            raise Rejected("permute moves the batch")
        return _Fn(lambda t: t.permute(*kw["dims"]))
    if type_name == "Narrow":
        if kw["dim"] % x.dim() == 0:
            raise Rejected("narrow over the batch")
        return _Fn(lambda t: t.narrow(kw["dim"], kw["start"], kw["length"]))
    if type_name == "MultiheadAttention":
        kw["embed_dim"] = x.shape[-1]
        mha = torch.nn.MultiheadAttention(**kw)

        class Self(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.mha = mha

            def forward(self, t: Any) -> Any:
                return self.mha(t, t, t, need_weights=False)[0]

        return Self()
    raise KeyError(type_name)


def build(type_name: str, spec: dict[str, Any], xs: list[Any]) -> Any:
    """The module for one layer of the file, built from the tensors that arrive."""
    kw = {k: tuple(v) if isinstance(v, list) and k not in ("dims", "dim", "shape") else v for k, v in spec.items()}
    if "dim" in kw and isinstance(kw["dim"], list):
        kw["dim"] = tuple(kw["dim"])
    kw = {k: float(v) if isinstance(v, str) and _is_float(v) else v for k, v in kw.items()}
    if hasattr(torch.nn, type_name) and type_name != "MultiheadAttention":
        ranks = batched_ranks(type_name)
        if ranks and xs[0].dim() not in ranks:
            raise Rejected(f"{type_name}: torch would read a rank-{xs[0].dim()} input as unbatched")
        for name in _inferred(type_name):
            kw[name] = INFER[name](xs[0])
        return getattr(torch.nn, type_name)(**kw)
    try:
        return _keras(type_name, dict(kw), xs[0])
    except KeyError:
        return _tensor_op(type_name, dict(kw), xs)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return any(c in text for c in ".eE")


def forward(layers: list[dict[str, Any]], x: Any, positive: bool = False) -> dict[str, Any]:
    """Run the layers on ``x`` (with autograd); the outputs by id. ``positive``: every parameter positive (weights
    in [0.5, 1.5], biases 0), so that with a positive input a dependence is a non-zero gradient (max pooling keeps
    its own gradient, which reaches only the argmax)."""
    x = x * 1.0  # not the leaf itself: in-place layers (inplace=True) may write into it
    outs: dict[str, Any] = {"input": x}
    prev = x
    gen = torch.Generator().manual_seed(0)
    for i, spec in enumerate(layers):
        spec = dict(spec)
        type_name = spec.pop("type")
        sources = spec.pop("from", None)
        lid = spec.pop("id", f"#{i}")
        inputs = [prev] if sources is None else [outs[s] for s in ([sources] if isinstance(sources, str) else sources)]
        if positive:
            spec.pop("inplace", None)  # autograd needs every intermediate value
        module = build(type_name, spec, inputs).eval()
        if positive:
            with torch.no_grad():
                for pname, p in module.named_parameters():
                    p.copy_(torch.rand(p.shape, generator=gen) + 0.5 if "weight" in pname else torch.zeros(p.shape))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = module(*inputs)
        outs[lid] = out
        prev = out
    return outs


def run(layers: list[dict[str, Any]], input_shape: list[int], batch: int = 2) -> list[tuple[tuple[int, ...], int, int]]:
    """Per layer: (per-sample output shape, params, buffers); raises Rejected."""
    x = torch.randn(batch, *input_shape)
    outs: dict[str, Any] = {"input": x}
    prev = x
    results = []
    for i, spec in enumerate(layers):
        spec = dict(spec)
        type_name = spec.pop("type")
        sources = spec.pop("from", None)
        lid = spec.pop("id", f"#{i}")
        try:
            inputs = (
                [prev] if sources is None else [outs[s] for s in ([sources] if isinstance(sources, str) else sources)]
            )
            with warnings.catch_warnings():
                warnings.simplefilter("error", UserWarning)
                warnings.filterwarnings("ignore", message=".*padding='same'.*")
                warnings.filterwarnings("ignore", message=".*Implicit dimension choice.*")  # deprecated, not refused
                module = build(type_name, spec, inputs).eval()
                with torch.no_grad():
                    out = module(*inputs)
        except Rejected:
            raise
        except Exception as e:
            raise Rejected(f"{type_name}: {e}") from None
        if not isinstance(out, torch.Tensor) or out.dim() == 0 or out.shape[0] != batch or 0 in out.shape:
            raise Rejected(f"{type_name}: degenerate output {getattr(out, 'shape', out)}")
        params = sum(p.numel() for p in module.parameters())
        buffers = sum(b.numel() for b in module.buffers())
        results.append((tuple(out.shape[1:]), params, buffers))
        outs[lid] = out
        prev = out
    return results


def mixes_samples(layers: list[dict[str, Any]], input_shape: list[int]) -> bool | None:
    """Whether, for some weights, some other sample of the output changes when only sample k of the input does
    (eval mode), for each k of three; None when the output never changes at all (a softmax over a size-1 dim
    is constant), so that no dependence can be seen. Three samples: with two, batch statistics normalise to
    +-1 whatever they are. Each sample in turn, and several weight draws: a ReLU after batch statistics zeroes
    the samples on one side of the mean, and a second one can zero them all, so one probe or one draw can miss
    a dependence of the architecture. Positive values, so that a fractional power (LP pooling) gives numbers."""
    moved = False
    for seed in range(8):
        torch.manual_seed(100 + seed)
        x = torch.rand(3, *input_shape) + 0.5
        with torch.no_grad():
            torch.manual_seed(seed)  # the same weights for every run of this draw
            a = list(forward(layers, x).values())[-1]
            for k in range(3):
                y = x.clone()
                y[k] += torch.rand(*input_shape) + 0.5
                torch.manual_seed(seed)
                b = list(forward(layers, y).values())[-1]
                others = [i for i in range(3) if i != k]
                if not torch.allclose(a[others], b[others], atol=1e-6, rtol=1e-5, equal_nan=True):
                    return True
                moved = moved or not torch.allclose(a[k], b[k], atol=1e-6, rtol=1e-5, equal_nan=True)
    return False if moved else None
