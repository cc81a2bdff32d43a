"""What a layer type is: its arguments, and its shape, parameter and buffer rules.

Each torch layer type is one :class:`LayerType` subclass instance in the
catalogue. Its rules receive resolved argument values (ints, floats, bools,
strings, tuples, or sympy expressions) and per-sample input shapes, and use
:class:`Ctx` to state what must hold. The same rule code serves concrete and
symbolic sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import symbolic as sym
from ..errors import CnnCalcError, Loc
from ..formula import Step
from . import steps
from .window import IDENTITY, SAME, Channels

Shape = tuple[Any, ...]
"""A per-sample shape: each entry an int or a sympy expression."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class Arg:
    """The schema of one constructor argument.

    ``kind`` is one of ``int``, ``float``, ``bool``, ``str``, ``size`` (an int or
    one per spatial dimension), ``ints`` (a list of ints), ``pad`` (int or
    list of ``2n`` ints, as torch's padding layers take), ``sizeopt`` (like size,
    entries may be null) or ``floats`` (a float or one per dimension).
    """

    kind: str
    default: Any = REQUIRED
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    nullable: bool = False
    strings: tuple[str, ...] = ()  # words accepted besides numbers, e.g. 'same'
    low: float | None = None  # a float argument's valid range (inclusive), as torch checks it: Dropout's p in [0, 1]
    high: float | None = None
    nonzero: bool = False  # an int that may be negative but not 0 (AvgPool's divisor_override)
    note: str = ""  # what `cnncalc layers NAME` adds (a value cnncalc requires where torch has a default)

    def out_of_range(self, value: Any) -> str | None:
        """Why a (concrete) value is outside what torch accepts, or None."""
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        if self.nonzero and value == 0:
            return "must not be 0"
        if self.low is not None and self.high is not None and not self.low <= value <= self.high:
            return f"must be between {self.low:g} and {self.high:g}"
        if self.low is not None and value < self.low:
            return f"must be >= {self.low:g}"
        if self.high is not None and value > self.high:
            return f"must be <= {self.high:g}"
        return None


@dataclass
class Ctx:
    """Where a rule runs: which node, and where conditions and failures go."""

    name: str
    type_name: str
    loc: Loc
    conditions: list[Condition] = field(default_factory=list)
    arg_locs: Mapping[str, Loc] = field(default_factory=dict)
    channels_last: bool = False  # the file writes shapes (H, W, C) (convention: keras): messages do too

    def shape(self, shape: Shape) -> str:
        """A shape for a message, in the file's layout."""
        return fmt_shape(shape, self.channels_last)

    def fail(self, message: str, hint: str | None = None, arg: str | None = None) -> CnnCalcError:
        """An error about this layer (located at ``arg`` when given)."""
        loc = self.arg_locs.get(arg, self.loc) if arg else self.loc
        return CnnCalcError(f"{self.type_name} {self.name!r}: {message}", loc, hint)

    def require(self, cond: Any, message: str, hint: str | None = None, arg: str | None = None) -> None:
        """Fail if ``cond`` is false; record it as a validity condition if it depends on symbols."""
        decided = sym.decide(cond)
        if decided is False:
            raise self.fail(message, hint, arg)
        if decided is None:
            self.conditions.append(Condition(cond, f"{self.name}: {message}", self.loc))

    def positive_size(self, dim: str, value: Any, formula: str, numbers: str, hint: str | None = None) -> None:
        """Require an output size >= 1, quoting the formula and the numbers that gave it."""
        self.require(
            value >= 1,
            f"output {dim} is {sym.to_text(value)}, must be >= 1: {sym.readable_formula(formula)} = "
            f"{sym.readable_formula(numbers)} = {sym.to_text(value)}",
            hint or "the input is too small for this layer; use a larger input or less shrinking before it",
        )


@dataclass(frozen=True)
class Condition:
    """A symbolic condition the network needs, e.g. ``floor(H/8) >= 1``."""

    expr: Any
    why: str
    loc: Loc
    expect: bool = False  # from an ``expect:`` (what ``cnncalc solve`` solves for), not a torch rule
    node: str = ""  # for an expect: the layer (or group) it is written on
    dim: int = -1  # for an expect: the per-sample output dim it constrains


@dataclass(frozen=True)
class Args:
    """Resolved argument values of one layer, defaults filled in.

    ``given`` holds the names written in the file (and inferred ones), which
    are what is passed to the torch constructor.
    """

    values: Mapping[str, Any]
    given: tuple[str, ...]
    written: Mapping[str, Any] = field(default_factory=dict)  # as written: a scalar stays a scalar

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def torch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the torch constructor, in the form the file wrote them."""
        return {k: self.written.get(k, self.values[k]) for k in self.given}

    def was_list(self, key: str) -> bool:
        """Whether the file wrote this argument as a list (some torch layers take only ints)."""
        return isinstance(self.written.get(key), tuple)


class NoTwin(Exception):
    """A layer whose receptive field the gradient check cannot reproduce; the message says why."""


FAMILIES = (
    "convolution",
    "pooling",
    "normalisation",
    "merge",
    "dense",
    "up-sampling",
    "activation",
    "reshape",
    "other",
)
"""The kinds of layer a figure colours apart, in the order its legend lists them."""


class LayerType:
    """Base of every layer type; subclasses define the rules.

    ``ndim`` is the number of spatial dimensions for 1d/2d/3d families (0 when
    not applicable). ``inferred`` lists arguments computed from the input shape;
    a value written in the file is checked against it.
    """

    name: str = ""
    args: Mapping[str, Arg] = {}
    inferred: tuple[str, ...] = ()
    ndim: int = 0
    merge: bool = False
    doc: str = ""
    family: str = "other"
    """What kind of layer it is, for pictures and readers: one of :data:`FAMILIES`."""
    keras_names: Mapping[str, str] = {}
    """Keras' spelling of an argument of a layer Keras and torch both name so (Dropout's ``rate`` is ``p``):
    accepted in a file as that argument, wherever it cannot mean anything else."""

    def infer(self, arg: str, shape: Shape) -> Any:
        """The value of an inferred argument for this input shape."""
        raise NotImplementedError(arg)

    def check_input(self, shape: Shape, ctx: Ctx) -> None:
        """Check the input rank; spatial families need (C, *spatial)."""
        if self.ndim:
            self._need_rank(shape, (self.ndim + 1,), ctx)

    def _need_rank(self, shape: Shape, ranks: Sequence[int], ctx: Ctx) -> None:
        if len(shape) not in ranks:
            want = " or ".join(str(r) for r in ranks)
            raise ctx.fail(
                f"expects a per-sample input of rank {want}, found shape {ctx.shape(shape)} (rank {len(shape)})",
                _rank_hint(self, shape),
            )

    def output(self, a: Args, ins: Sequence[Shape], ctx: Ctx) -> Shape:
        """The per-sample output shape; raise via ``ctx`` when the layer cannot work."""
        return ins[0]

    def params(self, a: Args, ins: Sequence[Shape]) -> Any:
        """The number of parameter values."""
        return 0

    def buffers(self, a: Args, ins: Sequence[Shape]) -> Any:
        """The number of buffer values (running statistics)."""
        return 0

    def workspace(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        """Elements per sample torch allocates inside the layer beyond its output (counted in the memory estimate
        before a forward pass); 0 for most layers."""
        return 0

    reshapes: bool = False
    """Flatten/Unflatten: the elements keep their row-major order; only the shape changes."""

    def window(self, a: Args, ins: Sequence[Shape], dim: int, out: Shape) -> Any:
        """How an output unit depends on input units along spatial ``dim`` of the layer's own input
        (per-sample dim ``dim + 1``); see layers/window.py. ``out`` is the layer's output shape.

        The default is one-to-one: layers that act per position (activations, BatchNorm).
        """
        return IDENTITY

    def channel_rule(self, a: Args, ins: Sequence[Shape], out: Shape) -> Channels:
        """How output channels depend on input channels (dim 0 of the per-sample shape); default: channel by channel."""
        return SAME

    def kept_shape(self, a: Args, ins: Sequence[Shape], out: Shape) -> Shape | None:
        """For a layer that drops dims (a reduction, Select, global pooling): its output with those dims kept as
        size 1, of the input's rank; ``window`` and ``channel_rule`` describe the layer up to it, and the output
        is that reshaped (the order of the elements is the same). None: the layer keeps the rank."""
        return None

    def gather(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        """For a layer that only moves elements (Permute): a function from an output index to the input index it
        copies, or None when the layer is described by ``window`` and ``channel_rule``."""
        return None

    def input_geometry(self, a: Args, ins: Sequence[Shape], out: Shape, k: int) -> tuple[list[Any], Channels]:
        """For a merge: how the output depends on input ``k`` (a window per spatial dim of that input, and a
        channel rule); the output sees the union over its inputs. The default is elementwise (Add)."""
        return [IDENTITY] * (len(out) - 1), SAME

    def mixes_samples(self, a: Args, ins: Sequence[Shape]) -> str | None:
        """Why this layer makes one sample's output depend on other samples of the batch (in eval mode), or None."""
        return None

    def twin(self, a: Args, ins: Sequence[Shape], out: Shape, xs: Sequence[Any], kit: Any) -> Any:
        """This layer rebuilt for geometry only, applied to twin tensors (``verify/receptive.py``).

        The receptive-field check runs a twin of the network: constant positive weights, no
        nonlinearity, max pooling as average pooling, so that the input gradient of a unit is
        non-zero exactly where the unit depends on the input. Every catalogue type defines its
        twin or raises :class:`NoTwin` with the reason (the check then says the layer was not checked).
        """
        raise NoTwin(f"{self.name} has no geometry twin")

    def macs(self, a: Args, ins: Sequence[Shape], out: Shape) -> Any:
        """Multiply-accumulates per sample; 0 for layers without weights to multiply."""
        return 0

    def running_stats(self, a: Args, ins: Sequence[Shape]) -> Any:
        """Running statistics that Keras counts as non-trainable parameters (BatchNorm's 2C); else 0."""
        return 0

    def build(self, a: Args, nn: Any, ins: Sequence[Shape] = ()) -> Any:
        """The torch module for these arguments (``ins``: the per-sample input shapes)."""
        return getattr(nn, self.name)(**a.torch_kwargs())

    def formulas(self) -> Mapping[str, str]:
        """Human-readable rules, for docs and explanations."""
        return {}

    def explain(self, a: Args, ins: Sequence[Shape], out: Shape) -> list[Step]:
        """The worked derivation of the output shape and counts (``cnncalc explain``)."""
        return steps.generic(self, a, ins, out)


def _rank_hint(layer: LayerType, shape: Shape) -> str:
    if layer.ndim and len(shape) == 1:
        return "a Flatten or Linear came before it; spatial layers need (C, *spatial)"
    if layer.ndim:
        n = len(shape) - 1
        if 1 <= n <= 3:
            return f"the input has {n} spatial dimension{'s' if n > 1 else ''}; use the {n}d variant of this layer"
    return "check the layers before it"


def fmt_shape(shape: Shape, channels_last: bool = False) -> str:
    """``(64, 16, 16)`` or ``(64, ⌊H/2⌋, ⌊W/2⌋)``; ``(16, 16, 64)`` when channels are written last (Keras)."""
    return "(" + ", ".join(sym.to_text(d) for d in in_layout(shape, channels_last)) + ")"


def in_layout(shape: Shape, channels_last: bool) -> Shape:
    """A shape as the file writes it: cnncalc computes channels first, (C, H, W); Keras writes (H, W, C)."""
    return (*shape[1:], shape[0]) if channels_last and len(shape) >= 2 else tuple(shape)


def channels_first(shape: Shape, channels_last: bool) -> Shape:
    """The inverse of :func:`in_layout`: a written shape, channels first."""
    return (shape[-1], *shape[:-1]) if channels_last and len(shape) >= 2 else tuple(shape)
