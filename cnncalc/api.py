"""cnncalc in Python and notebooks: ``summary(model, ...)`` and ``check(model, ...)`` on live ``nn.Module`` objects.

A front end like ``cli.py``: it turns torchinfo-style arguments into the core's input specs,
calls the core (``pymodel``, ``pipeline``, ``checks``) and wraps the report it returns in an
object that prints as a table (``str``), renders with rich in a terminal and as HTML in Jupyter.

**The input convention** (one rule, torchinfo's): ``input_size`` is the *batched* size, batch first,
as in ``torchinfo.summary(model, input_size=(1, 3, 224, 224))``. A size is *per sample* (cnncalc adds
the batch, as ``--input 3x28x28`` on the command line) when it says so: with ``batch_dim=0``
(torchinfo's own per-sample flag), as text (``"3x28x28"``, ``"3xHxW"``), or when it has a symbol
(``(3, "H", "W")``: a symbolic size is always per sample; the batch is never a symbol). A size whose
batch dimension is missing or doubled (``(3, 28, 28)`` for a ``Conv2d`` model, which torch would
run as one unbatched image) is refused with the forms to write instead.

The model is left as it was: device, dtype, train/eval mode of every module, no hooks, parameters
and buffers (BatchNorm running statistics included) and torch's random state.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import CnnCalcError

if TYPE_CHECKING:
    from .pymodel.inputs import InputSpec
    from .pymodel.load import Target
    from .pymodel.report import ModuleReport
    from .report import CheckReport, Finding, ShapesReport

DEFAULT_DEPTH = 3  # torchinfo's
DEFAULT_COL_WIDTH = 25  # torchinfo's
_DTYPE_NAMES = {"float32": "float32", "float": "float32", "float64": "float64", "double": "float64",
                "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "int64": "long", "long": "long",
                "int32": "int", "int": "int", "bool": "bool", "int16": "int16", "short": "int16", "int8": "int8",
                "uint8": "uint8"}  # fmt: skip
_TENSOR_TYPES = {"FloatTensor": "float32", "DoubleTensor": "float64", "HalfTensor": "float16",
                 "BFloat16Tensor": "bfloat16", "LongTensor": "long", "IntTensor": "int", "ShortTensor": "int16",
                 "CharTensor": "int8", "ByteTensor": "uint8", "BoolTensor": "bool"}  # fmt: skip
COLUMNS = {"kernel_size": "Kernel Shape", "groups": "Groups", "input_size": "Input Shape",
           "output_size": "Output Shape", "num_params": "Param #", "params_percent": "Param %",
           "mult_adds": "Mult-Adds", "trainable": "Trainable"}  # torchinfo's column names and headers  # fmt: skip
ROWS = ("depth", "var_names", "ascii_only", "hide_recursive_layers")  # torchinfo's row settings


class Symbol(str):
    """A size symbol for ``input_size`` (``(3, H, W)``); it is its name, so ``(3, "H", "W")`` is the same."""

    def __repr__(self) -> str:
        return str(self)


def symbols(names: str) -> Any:
    """``H, W = cnncalc.symbols("H W")``: size symbols for a symbolic ``input_size`` (one name: one symbol)."""
    parts = names.replace(",", " ").split()
    if not parts or not all(p.isidentifier() for p in parts):
        raise CnnCalcError(f"symbols({names!r}): expected names such as 'H W'", None)
    out = tuple(Symbol(p) for p in parts)
    return out[0] if len(out) == 1 else out


# --- inputs: torchinfo's forms -> per-sample specs -----------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """What the model is run on: per-sample specs, the batch, and the caller's own data when given."""

    specs: tuple[InputSpec, ...]
    batch: int
    form: str  # "batched" (torchinfo's input_size), "per-sample", "data"
    given: str  # the argument as written, for messages
    data: tuple[Any, ...] | None = None
    kwargs: Mapping[str, Any] | None = None
    full: tuple[tuple[int, ...], ...] | None = None  # torchinfo's input_size: each tensor's exact shape
    batch_first: bool = True  # every input has the batch as its first dim (cnncalc's rules and torch.fx apply)

    @property
    def symbolic(self) -> bool:
        """Whether a size is a symbol (the traced symbolic analysis)."""
        return any(s.symbols for s in self.specs)


def _dtype_name(dtype: Any) -> str:
    kind = getattr(dtype, "__name__", None)  # a tensor type: torch.FloatTensor, torch.cuda.LongTensor
    name = _TENSOR_TYPES.get(kind, "") if isinstance(dtype, type) and kind else str(dtype).replace("torch.", "")
    if name not in _DTYPE_NAMES:
        raise CnnCalcError(f"dtype {name or kind} is not supported for made-up inputs", None,
                           "use a float, integer or bool dtype (torch.float32, torch.long, torch.FloatTensor...), "
                           "or pass input_data")  # fmt: skip
    return _DTYPE_NAMES[name]


def _dims(size: Any, given: str) -> tuple[int | str, ...]:
    dims: list[int | str] = []
    for d in size:
        if isinstance(d, bool) or not isinstance(d, (int, str)) or (isinstance(d, int) and d < 1):
            raise CnnCalcError(f"input_size={given}: {d!r} is not a size", None,
                               "sizes are positive integers or symbol names, e.g. (1, 3, 224, 224) or (3, 'H', 'W')")  # fmt: skip
        if isinstance(d, str) and not d.isidentifier():
            raise CnnCalcError(f"input_size={given}: {d!r} is not a symbol name", None, "write (3, 'H', 'W')")
        dims.append(str(d) if isinstance(d, str) else int(d))  # a Symbol is its name
    return tuple(dims)


def _size_list(input_size: Any) -> tuple[list[Any], bool]:
    """The sizes of each input, and whether they were written as text (``"3x28x28"``).

    torchinfo's forms: one size (``(1, 3, 224, 224)``, ``[2]``, a ``torch.Size``), several
    (``[(1, 10), (1, 20)]``; ``[]`` among them is a 0-d input), or one size in a list (``[(2,)]``).
    """
    if isinstance(input_size, str):
        return [input_size], True
    if not isinstance(input_size, Sequence) or not input_size:
        raise CnnCalcError(f"input_size={input_size!r} is not a size", None,
                           "write (1, 3, 224, 224), [(1, 3, 224, 224), (1, 10)] for several inputs, or '3x224x224'")  # fmt: skip
    if all(isinstance(v, str) and not v.isidentifier() for v in input_size):
        return list(input_size), True  # ["3x224x224", "10"]
    if all(isinstance(v, (int, str)) for v in input_size):
        return [tuple(input_size)], False
    if all(isinstance(v, Sequence) and not isinstance(v, str) for v in input_size):
        return [tuple(v) for v in input_size], False
    raise CnnCalcError(f"input_size={input_size!r} mixes sizes and numbers", None,
                       "one input: (1, 3, 224, 224); several: [(1, 3, 224, 224), (1, 10)]")  # fmt: skip


def _dtype_list(dtypes: Sequence[Any] | None, n: int) -> list[str]:
    if dtypes is None:
        return ["float32"] * n
    if isinstance(dtypes, (str, bytes)) or not isinstance(dtypes, Sequence):
        dtypes = [dtypes]
    names = [_dtype_name(d) for d in dtypes]
    if len(names) not in (1, n):
        raise CnnCalcError(f"{len(names)} dtypes for {n} inputs", None, "give one for every input, or one per input")
    return names * n if len(names) == 1 else names


def parse_size(input_size: Any, batch_dim: int | None = None, dtypes: Sequence[Any] | None = None) -> Inputs:
    """torchinfo's ``input_size``: each tensor's shape, a batch of 1 inserted at ``batch_dim`` when it is given.

    As text (``"3x224x224"``) or with symbols (``(3, "H", "W")``) a size is per sample (cnncalc's forms,
    batch 2). The batch cnncalc reports MACs per sample for is the size at ``batch_dim``, else the first dim
    of a tensor of two dims or more (a 1-d or 0-d input is one sample).
    """
    from .pymodel.inputs import InputSpec, parse_inputs

    given = repr(input_size)
    sizes, text = _size_list(input_size)
    names = _dtype_list(dtypes, len(sizes))
    if text:
        if batch_dim not in (None, 0):
            raise CnnCalcError(f"batch_dim={batch_dim} with a per-sample text size", None,
                               "text sizes ('3x224x224') are per sample, the batch first; write the tensor's size "
                               "as a tuple to put the batch elsewhere")  # fmt: skip
        return Inputs(parse_inputs([str(s) for s in sizes], names), 2, "per-sample", given)
    dims = [_dims(s, given) for s in sizes]
    if any(isinstance(d, str) for ds in dims for d in ds):
        if batch_dim not in (None, 0):
            raise CnnCalcError(f"batch_dim={batch_dim} with a symbolic size", None,
                               "a size with symbols is per sample and the batch comes first")  # fmt: skip
        return Inputs(tuple(InputSpec(d, t) for d, t in zip(dims, names)), 2, "per-sample", given)
    full: list[tuple[int, ...]] = []
    for d in dims:
        ints = tuple(int(v) for v in d)
        if batch_dim is not None:
            at = batch_dim if batch_dim >= 0 else len(ints) + 1 + batch_dim
            if not 0 <= at <= len(ints):
                raise CnnCalcError(f"batch_dim={batch_dim} is outside a size of {len(ints)} dims, {given}", None,
                                   f"the batch goes at a dim from 0 to {len(ints)}")  # fmt: skip
            ints = (*ints[:at], 1, *ints[at:])
        full.append(ints)
    first = full[0]
    at = (batch_dim if batch_dim >= 0 else len(first) + batch_dim) if batch_dim is not None else 0
    batched = batch_dim is not None or len(first) >= 2
    batch = first[at] if batched and first else 1
    batch_first = at == 0 and batched and all(len(f) >= 1 and f[0] == batch for f in full)
    specs = tuple(InputSpec(f[1:] if batch_first else f, t) for f, t in zip(full, names))
    form = "per-sample" if batch_dim is not None else "batched"
    return Inputs(specs, batch, form, given, full=tuple(full), batch_first=batch_first)


def parse_data(input_data: Any) -> Inputs:
    """torchinfo's ``input_data``: a tensor, a list of positional arguments, or a dict of keyword arguments.

    Tensors may be nested in lists, tuples and dicts, beside other values (strings, None, numbers).
    """
    from .pymodel.inputs import InputSpec
    from .pymodel.trace import flatten
    from .verify.torchload import import_torch

    torch = import_torch()
    if isinstance(input_data, Mapping):
        data, kwargs = None, dict(input_data)
    elif isinstance(input_data, (list, tuple)):
        data, kwargs = tuple(input_data), None
    elif isinstance(input_data, torch.Tensor) or type(input_data).__name__ == "ndarray":
        data, kwargs = (input_data,), None
    else:
        raise CnnCalcError(f"input_data is a {type(input_data).__name__}", None,
                           "pass a tensor, a list of the forward's arguments, or a dict of keyword arguments")  # fmt: skip
    tensors = [t for _, t in flatten(torch, (list(data or ()), kwargs or {}))]
    first = tensors[0] if tensors else None
    batch = int(first.shape[0]) if first is not None and first.dim() >= 2 else 1
    batch_first = first is not None and first.dim() >= 2 and all(t.dim() >= 1 and t.shape[0] == batch
                                                                    for t in tensors)  # fmt: skip
    specs = tuple(InputSpec(tuple(int(d) for d in (t.shape[1:] if batch_first else t.shape)),
                            _DTYPE_NAMES.get(str(t.dtype)[6:], str(t.dtype)[6:])) for t in tensors)  # fmt: skip
    plain = data is not None and all(isinstance(v, torch.Tensor) for v in data)
    return Inputs(specs, batch, "data", "input_data", data, kwargs, batch_first=batch_first and plain)


def _inputs(input_size: Any, input_data: Any, batch_dim: int | None, dtypes: Sequence[Any] | None) -> Inputs:
    if input_size is not None and input_data is not None:
        raise CnnCalcError("give input_size or input_data, not both", None)
    if input_data is not None:
        if dtypes is not None or batch_dim is not None:
            raise CnnCalcError("dtypes and batch_dim describe input_size; input_data has its own", None)
        return parse_data(input_data)
    if input_size is None:
        raise CnnCalcError("cnncalc needs the model's input to run it", None,
                           "pass input_size=(1, 3, 224, 224) (batch first, as torchinfo), '3x224x224' per sample, "
                           "or input_data=tensor")  # fmt: skip
    return parse_size(input_size, batch_dim, dtypes)


def _unbatched(rep: ModuleReport, inputs: Inputs) -> None:
    """Refuse a size whose batch dimension is missing or doubled, seen at the first layer that takes the input."""
    import re

    fed = list(inputs.full) if inputs.full is not None else [(inputs.batch, *s.bind({})) for s in inputs.specs]
    for row in rep.rows:
        call = row.call
        if call is None or not row.leaf or not call.inputs or call.inputs[0].shape not in fed:
            continue
        m = re.search(r"(?:Conv|ConvTranspose|Pool|Norm)([123])d$", row.type)
        if m is None:
            return
        want = int(m.group(1)) + 2  # (N, C, *spatial)
        rank = len(call.inputs[0].shape)
        if rank == want:
            return
        per = "x".join(map(str, call.inputs[0].shape[1:]))
        if inputs.form == "batched" and rank == want - 1:
            full = "(1, " + ", ".join(map(str, call.inputs[0].shape)) + ")"
            raise CnnCalcError(f"input_size={inputs.given} has no batch dimension: it reads as a batch of "
                               f"{inputs.batch}, but {row.type} {row.name!r} takes (N, C, ...) and would run it as "
                               "one unbatched sample", None,
                               f"write input_size={full} (batch first, as torchinfo), or the per-sample "
                               f"size with batch_dim=0 or as '{'x'.join(map(str, call.inputs[0].shape))}'")  # fmt: skip
        if rank == want + 1:
            raise CnnCalcError(f"input {inputs.given} has one dimension too many for {row.type} {row.name!r}: "
                               f"per sample it is {per}", None,
                               "a per-sample size (batch_dim=0, text or symbols) leaves the batch out")  # fmt: skip
        return


# --- the model, untouched --------------------------------------------------------------------------------------


def _target(model: Any) -> Target:
    from .pymodel.load import Target
    from .verify.torchload import import_torch

    if not isinstance(model, import_torch().nn.Module):
        raise CnnCalcError(f"model is a {type(model).__name__}, not an nn.Module", None,
                           "pass the model instance: cnncalc.summary(Net(), ...)")  # fmt: skip
    from .pymodel.trace import type_name

    name = type_name(model)
    return Target(name, None, name, model)


@contextlib.contextmanager
def _untouched(model: Any) -> Iterator[None]:
    """torch's random state is restored (building check modules draws from it); the core restores the rest."""
    from .verify.torchload import import_torch

    torch = import_torch()
    devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=devices):
        yield


def _device(device: Any) -> str:
    if device is None:
        return "auto"
    text = str(device)
    return text.split(":")[0] if text.startswith("cuda") else text


# --- summary ---------------------------------------------------------------------------------------------------


@dataclass
class TableOptions:
    """torchinfo's formatting arguments: the columns (its names), their width and the row settings.

    ``torchinfo_layout``: a column, width or row setting was asked for, so the table is torchinfo's
    layout with those columns; otherwise cnncalc's own table. The unit attributes are kept for
    callers that set them (``results.formatting.macs_units = Units.NONE``): the table writes exact numbers.
    """

    columns: tuple[str, ...] = ("output_size", "num_params")
    col_width: int = DEFAULT_COL_WIDTH
    rows: frozenset[str] = frozenset({"depth"})
    verbose: int = 1
    torchinfo_layout: bool = False
    macs_units: Any = "auto"
    params_units: Any = "auto"
    params_size_units: Any = "auto"
    params_count_units: Any = "auto"

    @classmethod
    def parse(cls, col_names: Any, col_width: int, row_settings: Any, verbose: int | None, has_input: bool,
              interactive: bool) -> TableOptions:  # fmt: skip
        """Check the arguments as torchinfo does; every bad one is a clear error."""
        import difflib

        def name(v: Any) -> str:
            return str(getattr(v, "value", v))

        if verbose is not None and (isinstance(verbose, bool) or getattr(verbose, "value", verbose) not in (0, 1, 2)):
            raise CnnCalcError(f"verbose={verbose!r}: expected 0 (quiet), 1 (the table) or 2 (every layer)", None)
        if isinstance(col_width, bool) or not isinstance(col_width, int) or col_width <= 0:
            raise CnnCalcError(f"col_width={col_width!r}: a column width is a positive integer", None)
        if isinstance(col_names, str) or isinstance(row_settings, str):
            raise CnnCalcError("col_names and row_settings are lists of names", None,
                               "write col_names=('output_size', 'num_params')")  # fmt: skip
        default = ("output_size", "num_params") if has_input else ("num_params",)
        columns = tuple(name(c) for c in col_names) if col_names is not None else default
        for c in columns:
            if c not in COLUMNS:
                close = difflib.get_close_matches(c, list(COLUMNS), 1)
                raise CnnCalcError(f"col_names: {c!r} is not one of torchinfo's columns", None,
                                   f"did you mean {close[0]!r}?" if close else "one of " + ", ".join(COLUMNS))  # fmt: skip
        if not has_input and any(c in ("input_size", "output_size", "mult_adds") for c in columns):
            raise CnnCalcError(f"col_names={columns}: shapes and MACs need the model's input", None,
                               "pass input_size or input_data, or ask for num_params, kernel_size, trainable only")  # fmt: skip
        rows = frozenset(name(r) for r in row_settings) if row_settings is not None else frozenset({"depth"})
        for r in rows:
            if r not in ROWS:
                close = difflib.get_close_matches(r, list(ROWS), 1)
                raise CnnCalcError(f"row_settings: {r!r} is not one of torchinfo's row settings", None,
                                   f"did you mean {close[0]!r}?" if close else "one of " + ", ".join(ROWS))  # fmt: skip
        level = int(getattr(verbose, "value", verbose)) if verbose is not None else 0 if interactive else 1
        layout = col_names is not None or row_settings is not None or col_width != DEFAULT_COL_WIDTH
        return cls(columns, col_width, rows, level, layout)


@dataclass(frozen=True)
class Layer:
    """One row of the summary: a module call (a layer of the traced graph when symbolic)."""

    name: str
    type: str
    depth: int
    output_shape: tuple[Any, ...] | None  # with the batch first ("B" when symbolic); None when not called
    params: Any
    trainable: Any
    buffers: Any
    macs: Any  # per sample; None when no rule is known
    receptive_field: str
    verified: bool | None  # cnncalc's rule confirmed by torch (None: no rule for this module)


class Summary:
    """What :func:`summary` returns: totals, ``layers``, ``to_json()``; a table as ``str``, rich and HTML.

    ``report`` is the core report behind it: a ``ModuleReport`` (one hooked forward pass) or, for a
    symbolic ``input_size``, a ``ShapesReport`` of the traced model (formulas in the symbols).
    """

    def __init__(self, report: ModuleReport | ShapesReport, depth: int | None = DEFAULT_DEPTH,
                 accepted: tuple[list[str], str] | None = None, options: TableOptions | None = None,
                 input_size: Any = None, given: int | None = None, later: bool = False) -> None:  # fmt: skip
        self._report = report
        self._later = later  # torch.fx's extras (receptive fields...) when cnncalc's table is first shown
        self.depth = depth
        self._accepted = accepted  # symbolic: the readable conditions and the accepted sizes
        self.formatting = options or TableOptions()
        self.input_size = input_size  # torchinfo's: the sizes as given (input_data: its tensors' sizes)
        self._stats: tuple[list[Any], Any] | None = None
        self._given = given  # how many of the tensors the model got are the input (the rest: forward's **kwargs)

    @property
    def report(self) -> ModuleReport | ShapesReport:
        """The core report: a ``ModuleReport`` (one hooked forward pass) or a symbolic ``ShapesReport``."""
        if self._later:
            from .pymodel.report import with_symbolic

            self._later = False
            self._report = with_symbolic(self._report)  # type: ignore[arg-type]
        return self._report

    # --- torchinfo's ModelStatistics ---------------------------------------------------------------------------

    def _torchinfo(self) -> tuple[list[Any], Any]:
        if self._stats is None:
            from .pymodel.stats import layers, totals

            if self.symbolic:
                from .pymodel.stats import Totals

                self._stats = ([], Totals(0, 0, 0))
            else:
                rep = self._report
                model = rep.target.model  # type: ignore[union-attr]
                found = layers(model, rep if rep.ran else None)  # type: ignore[union-attr, arg-type]
                self._stats = (found, totals(model, rep, found, self._given))  # type: ignore[arg-type]
        return self._stats

    @property
    def summary_list(self) -> list[Any]:
        """torchinfo's rows: one ``LayerInfo`` per module call (``output_size``, ``num_params``, ``macs``...)."""
        return self._torchinfo()[0]

    @property
    def total_mult_adds(self) -> int:
        """torchinfo's total: MACs of the whole forward pass (every sample), torch's FLOP counter / 2."""
        return 0 if self.symbolic else int(self._report.run_macs)  # type: ignore[union-attr]

    @property
    def total_input(self) -> int:
        """Bytes of the input tensors."""
        return int(self._torchinfo()[1].total_input)

    @property
    def total_output_bytes(self) -> int:
        """torchinfo's forward/backward bytes: outputs of the leaf calls with parameters, twice."""
        return int(self._torchinfo()[1].total_output_bytes)

    @property
    def total_param_bytes(self) -> int:
        """Bytes of every distinct parameter."""
        return int(self._torchinfo()[1].total_param_bytes)

    @staticmethod
    def to_megabytes(num: int) -> float:
        """Bytes to megabytes (10**6), as torchinfo."""
        return num / 1e6

    @staticmethod
    def float_to_megabytes(num: int) -> float:
        """torchinfo's: a count of float32 values in megabytes."""
        return num * 4 / 1e6

    @staticmethod
    def to_readable(num: int, units: Any = "auto") -> tuple[str, float]:
        """torchinfo's: bytes in the unit that reads best (or the one given)."""
        unit = getattr(units, "value", units)
        factors = {"T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "": 1}
        if unit == "auto":
            unit = "T" if num >= 1e12 else "G" if num >= 1e9 else "M"
        return unit, num / factors[unit]

    @property
    def symbolic(self) -> bool:
        """Whether sizes are symbols (the traced symbolic analysis, as ``cnncalc shapes --input 3xHxW``)."""
        from .report import ShapesReport

        return isinstance(self._report, ShapesReport)

    @property
    def total_params(self) -> Any:
        """``sum(p.numel() for p in model.parameters())`` (tied parameters once)."""
        return self._totals.params

    @property
    def trainable_params(self) -> Any:
        """Parameters with ``requires_grad``."""
        return self._totals.trainable

    @property
    def non_trainable_params(self) -> Any:
        """Frozen parameters."""
        return self._totals.non_trainable

    @property
    def buffers(self) -> Any:
        """Buffer values (BatchNorm running statistics...)."""
        return self._totals.buffers

    @property
    def total_macs(self) -> Any:
        """Multiply-accumulates per sample (FLOPs ≈ 2 × MACs); symbolic: a formula in the symbols."""
        return self._totals.macs

    @property
    def _totals(self) -> Any:
        totals = self._report.totals
        assert totals is not None
        return totals

    @property
    def verified(self) -> bool | None:
        """Whether torch confirmed cnncalc's rules (live table: its numbers are torch's own in any case)."""
        if self.symbolic:
            return self._report.verified  # type: ignore[union-attr]
        return None if self._report.crash is not None else not self._report.mismatches  # type: ignore[union-attr]

    @property
    def conditions(self) -> list[str]:
        """The conditions on the input sizes under which the model works (``["H >= 16", ...]``)."""
        return list(self._accepted[0]) if self._accepted else list(self.report.conditions)

    @property
    def accepted(self) -> str | None:
        """Which input sizes the model accepts (``H in 28..31, W in 28..31 (independent)``, ``H = W required``),
        when torch.fx can trace it."""
        return self._accepted[1] if self._accepted else getattr(self.report, "accepted", None)

    @property
    def output_shapes(self) -> list[tuple[Any, ...]]:
        """The shape of each output tensor, batch first (``"B"`` when symbolic)."""
        if self.symbolic:
            return [("B", *self._report.main.output_shape)]  # type: ignore[union-attr]
        return [i.shape for _, i in self._report.outputs]  # type: ignore[union-attr]

    @property
    def layers(self) -> list[Layer]:
        """Every row: module calls in call order (nested; all depths), or the traced layers when symbolic."""
        from .render.notation import rf_text

        if self.symbolic:
            from .report import rows

            return [Layer(r.name, r.type, r.depth, ("B", *r.shape), r.params, r.params if r.trainable else 0,
                          r.buffers, r.macs, rf_text(r.rf), r.verified)
                    for r in rows(self.report) if not r.group]  # type: ignore[arg-type]  # fmt: skip
        out = []
        for r in self.report.rows:  # type: ignore[union-attr]
            shape = r.outputs[0][1].shape if r.outputs else None
            verified = None if r.derived is None else r.mismatch is None
            out.append(Layer(r.call.name if r.call is not None else r.name, r.type, r.depth, shape, r.params,
                             r.trainable, r.buffers, r.macs, rf_text(r.rf), verified))  # fmt: skip
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``cnncalc shapes TARGET --format json`` as a dict."""
        import json

        return dict(json.loads(self.to_json()))

    def to_json(self) -> str:
        """The same document as ``cnncalc shapes TARGET --format json`` (schema ``cnncalc.modules/1``,
        or ``cnncalc.shapes`` when symbolic)."""
        if self.symbolic:
            from .render.formats import to_json

            return to_json(self.report)  # type: ignore[arg-type]
        from .render.modules import to_json as modules_json

        return modules_json(self.report)  # type: ignore[arg-type]

    def _parts(self) -> tuple[Any, list[Any]]:
        """The rich table and the lines under it, as the CLI prints them."""
        from rich.text import Text

        if self.symbolic:
            from .render.table import notes, table

            return table(self.report), notes(self.report)  # type: ignore[arg-type]
        from .render import modules

        rep = self.report
        lines: list[Any] = [Text(line, style="bold red" if line.startswith("MISMATCH") else "")
                            for line in modules.summary_lines(rep)]  # type: ignore[arg-type]  # fmt: skip
        if rep.crash is not None:  # type: ignore[union-attr]
            lines.append(Text(rep.crash.line(), style="bold red"))  # type: ignore[union-attr]
        return modules.table(rep, self.depth), lines  # type: ignore[arg-type]

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from .render.fit import safe

        if self.formatting.torchinfo_layout and not self.symbolic:
            yield self._torchinfo_text()
            return
        table, lines = self._parts()
        yield table
        yield from (safe(line) for line in lines)

    def _torchinfo_text(self) -> str:
        from .render.torchinfo import render

        found, totals = self._torchinfo()
        return render(self._report, found, totals, self.formatting, self.depth)  # type: ignore[arg-type]

    def __str__(self) -> str:
        if self.formatting.torchinfo_layout and not self.symbolic:
            return self._torchinfo_text()
        return _text(self)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        from .render.html import from_rich

        table, lines = self._parts()
        return from_rich(table, lines)

    def draw(self, collapse: bool = False, direction: str = "lr", title: str | None = None) -> Any:
        """The network diagram of this summary (``cnncalc draw``): a figure that Jupyter shows inline, with
        ``.save("net.pdf")``, ``.svg()``, ``.png()``, ``.pdf()`` and ``.tikz()``. Needs ``cnncalc[draw]``
        for SVG, PNG and PDF."""
        from .render.draw import network

        return network(self.report, collapse=collapse, direction=direction, title=title)

    def print(self) -> None:
        """Print with rich in a terminal (colours, its width); elsewhere as plain text as wide as the table."""
        from rich.console import Console

        console = Console(highlight=False)
        if self.formatting.torchinfo_layout and not self.symbolic:
            print(self._torchinfo_text())
        elif console.is_terminal:
            console.print(self)
        else:
            print(_text(self))


def _text(renderable: Any) -> str:
    """A rich renderable as plain text, as wide as it needs (tables never cut a number)."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=400, color_system=None, highlight=False, force_jupyter=False,
                      force_terminal=False)  # fmt: skip
    parts = list(renderable.__rich_console__(console, console.options))
    width = max(60, *(console.measure(p).maximum for p in parts[:1]))
    console = Console(file=io.StringIO(), width=min(width, 400), color_system=None, highlight=False,
                      force_jupyter=False, force_terminal=False)  # fmt: skip
    for p in parts:
        console.print(p, soft_wrap=not hasattr(p, "columns"))
    return str(console.file.getvalue())  # type: ignore[attr-defined]


def _interactive() -> bool:
    """A REPL or a Jupyter kernel shows the returned object itself; a script needs it printed (as torchinfo)."""
    return hasattr(sys, "ps1") or "ipykernel" in sys.modules or bool(getattr(sys.flags, "interactive", 0))


_CACHE: dict[int, tuple[Any, tuple[Any, ...], Any]] = {}  # cache_forward_pass: id -> (weakref, key, report)


def clear_cached_forward_pass() -> None:
    """Forget the forward passes kept by ``cache_forward_pass=True`` (torchinfo's function of that name)."""
    _CACHE.clear()


def _mode(mode: Any) -> str:
    text = "eval" if mode is None else str(getattr(mode, "value", mode))
    if text not in ("train", "eval", "same"):
        raise CnnCalcError(f"mode={mode!r}: expected 'train', 'eval' or 'same'", None,
                           "the model runs in that mode; every module's mode and buffer is restored after")  # fmt: skip
    return text


def _cache_key(model: Any, input_size: Any, input_data: Any, batch_dim: Any, dtypes: Any, device: Any, mode: str,
               kwargs: Mapping[str, Any]) -> tuple[Any, ...]:  # fmt: skip
    def ident(v: Any) -> Any:
        return repr(v) if isinstance(v, (int, str, float, tuple, list, type(None))) else id(v)

    return (ident(input_size), ident(input_data), batch_dim, repr(dtypes), repr(device), mode,
            tuple((k, ident(v)) for k, v in sorted(kwargs.items())))  # fmt: skip


def summary(model: Any, input_size: Any = None, input_data: Any = None, batch_dim: int | None = None,
            cache_forward_pass: bool | None = None, col_names: Any = None, col_width: int = DEFAULT_COL_WIDTH,
            depth: int | None = DEFAULT_DEPTH, device: Any = None, dtypes: Sequence[Any] | None = None,
            mode: str | None = None, row_settings: Any = None, verbose: int | None = None, *, verify: bool = True,
            timeout: float | None = 30.0, max_memory: int = 4 * 2**30, **kwargs: Any) -> Summary:  # fmt: skip
    """The per-module table of a live model, from one forward pass with hooks; symbolic with symbol sizes.

    torchinfo's arguments, in its order. ``input_size``: each input tensor's size, as torchinfo
    (``(1, 3, 224, 224)``; a list for several inputs; ``[]`` a 0-d one); ``batch_dim``: the size is per
    sample and a batch of 1 goes at that dim. cnncalc's own per-sample forms: text (``"3x224x224"``) or
    symbols (``(3, "H", "W")``, the traced symbolic analysis: formulas, receptive fields, accepted sizes).
    ``input_data``: a tensor, a list of the forward's arguments or a dict of keyword arguments (nested
    lists and dicts of tensors and other values). No input: the modules and their parameters are listed.
    ``cache_forward_pass``: reuse the last run of this model with the same arguments. ``col_names``,
    ``col_width``, ``row_settings`` (``depth``, ``var_names``, ``ascii_only``, ``hide_recursive_layers``):
    torchinfo's table with those columns (``input_size``, ``output_size``, ``num_params``, ``params_percent``,
    ``kernel_size``, ``groups``, ``mult_adds``, ``trainable``); without them cnncalc's table. ``depth``: rows
    shown (totals count everything); ``device``: where to run (the model is moved back); ``dtypes``: of the
    made-up inputs (``[torch.long]``, ``[torch.FloatTensor]``); ``mode``: ``"eval"`` (default), ``"train"``
    or ``"same"``; every module's mode and every buffer (BatchNorm statistics) are restored after.
    ``verbose``: 0 quiet, 1 print the table, 2 print every depth; default: print in a script, not in a REPL
    or Jupyter (which show the result). Other keyword arguments go to ``forward``.

    cnncalc's own, keyword only: ``verify=False`` skips torch's extra checks (receptive fields by input
    gradients; symbolic: the forward passes at several sizes); ``timeout``: seconds each forward pass (or
    trace) may take, None for no limit; ``max_memory``: bytes the made-up inputs may take (see
    :mod:`cnncalc.budget`). A model that calls ``sys.exit``, runs past the time limit or raises
    ``KeyboardInterrupt`` is reported like a crash; what it prints goes to stderr.

    The result has torchinfo's ``ModelStatistics`` attributes (``total_params``, ``trainable_params``,
    ``total_mult_adds``: MACs of the whole pass by torch's FLOP counter, ``summary_list``, ``total_input``,
    ``total_output_bytes``, ``total_param_bytes``) beside cnncalc's (``total_macs`` per sample, ``layers``...).
    """
    import weakref

    from . import budget
    from .keras.target import is_keras_model

    if is_keras_model(model):  # Keras on torch: its get_config() through the Keras reader, checked by Keras' forward
        from .keras.target import report as keras_report

        given = input_size is not None or input_data is not None
        with budget.limits(timeout, max_memory):
            found = Summary(keras_report(model, _inputs(input_size, input_data, batch_dim, dtypes).specs if given
                                         else (), verify), None)  # fmt: skip
        if verbose if verbose is not None else not _interactive():
            found.print()
        return found
    target = _target(model)
    has_input = input_size is not None or input_data is not None
    options = TableOptions.parse(col_names, col_width, row_settings, verbose, has_input, _interactive())
    run_mode = _mode(mode)
    if verbose == 2 or getattr(verbose, "value", None) == 2:
        depth = None
    if not has_input:
        from .pymodel.report import static_report

        result = Summary(static_report(target), depth, options=options)
    else:
        inputs = _inputs(input_size, input_data, batch_dim, dtypes)
        dev = _device(device)
        key = _cache_key(model, input_size, input_data, batch_dim, dtypes, device, run_mode, kwargs)
        cached = _CACHE.get(id(model)) if cache_forward_pass else None
        with _untouched(model), budget.limits(timeout, max_memory):
            if inputs.symbolic:
                result = _symbolic_summary(target, inputs, dev, verify)
            else:
                from .pymodel.report import module_report

                if cached is not None and cached[0]() is model and cached[1] == key:
                    rep = cached[2]
                else:
                    rep = module_report(target, inputs.specs, {}, dev, inputs.batch, symbolic=False,
                                        verify_rf=False, data=inputs.data, kwargs=inputs.kwargs,
                                        any_output=True, full_shapes=inputs.full, mode=run_mode, extra=kwargs)  # fmt: skip
                    if cache_forward_pass:
                        _CACHE[id(model)] = (weakref.ref(model), key, rep)
                if inputs.form != "data":
                    _unbatched(rep, inputs)
                plain = inputs.batch_first and not kwargs and run_mode == "eval" and verify
                result = Summary(rep, depth, options=options, input_size=_sizes_given(input_size, input_data),
                                 given=len(inputs.specs), later=plain)  # fmt: skip
        result.formatting = options
    if options.verbose:
        result.print()
    return result


def _sizes_given(input_size: Any, input_data: Any) -> Any:
    """torchinfo's ``input_size`` attribute: the sizes as given, or those of ``input_data``'s tensors."""
    if input_size is not None:
        return input_size
    from .verify.torchload import import_torch

    torch = import_torch()

    def sizes(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            return v.shape
        if isinstance(v, Mapping):
            return {k: sizes(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [sizes(x) for x in v]
        return v

    return sizes(input_data)


def _symbolic_summary(target: Target, inputs: Inputs, device: str, verify: bool) -> Summary:
    """The traced model through the symbolic engine: the same report as ``cnncalc shapes model.py:Net --input 3xHxW``."""
    from .pipeline import shapes
    from .pymodel.fxspec import NotConvertible, accepted_sizes, convert

    try:
        fx = convert(target.model, inputs.specs, {}, target.text)
    except NotConvertible as e:
        raise CnnCalcError(f"{target.text} cannot be analysed symbolically: {e}", None,
                           "give concrete sizes, e.g. input_size=(1, 3, 224, 224): any model runs with hooks") from None  # fmt: skip
    except CnnCalcError as e:
        raise _batch_hint(e, inputs) from None
    try:
        report = shapes(fx.spec, verify=verify, device="cpu" if device == "auto" else device)
        pairs, sizes = accepted_sizes(fx)
        accepted = ([text for text, _ in pairs], sizes)
    except CnnCalcError as e:
        raise _batch_hint(e, inputs) from None
    return Summary(report, None, accepted)


def _batch_hint(e: CnnCalcError, inputs: Inputs) -> CnnCalcError:
    """A symbolic size that starts with 1 is most likely a batch: say that a size with symbols is per sample."""
    first = inputs.specs[0].dims[0] if inputs.specs and inputs.specs[0].dims else None
    if first == 1 and len(inputs.specs[0].dims) >= 3:
        return CnnCalcError(e.message, e.loc, "a size with symbols is per sample: leave the batch out, "
                            "e.g. (3, 'H', 'W')")  # fmt: skip
    return e


# --- check -----------------------------------------------------------------------------------------------------


class CheckFailed(AssertionError):
    """Raised by ``check(..., raise_on_failure=True)`` when a check fails; ``.result`` has every finding."""

    def __init__(self, result: Checked) -> None:
        lines = [f"{f.title}: " + (f"{f.loc}: " if f.loc else "") + f.message for f in result.failures]
        super().__init__("cnncalc: " + "\n".join(lines))
        self.result = result


class Checked:
    """What :func:`check` returns: the findings of ``cnncalc check`` (``ok``, ``failures``), printable."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every check made, passed or failed (with a location in the model's source when one is known)."""
        return self.report.findings

    @property
    def failures(self) -> list[Finding]:
        """The failed checks."""
        return self.report.failures

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return self.report.ok

    def to_json(self) -> str:
        """The same document as ``cnncalc check TARGET --format json``."""
        from .render.findings import to_json

        return to_json(self.report)

    def __str__(self) -> str:
        from .render.findings import to_text

        return to_text(self.report)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape

        items = []
        for f in self.findings:
            mark = '<span class="ok">✓</span>' if f.ok else '<span class="bad">✗</span>'
            where = f"{f.loc}: " if f.loc and not f.ok else ""
            items.append(f"<li>{mark} {escape(f.title)}: {escape(where + f.message)}</li>")
        passed = sum(f.ok for f in self.findings)
        return (f'<div class="cnncalc"><p><strong>cnncalc check {escape(self.report.subject)}</strong></p>'
                f'<ul style="list-style: none">{"".join(items)}</ul>'
                f"<p>{passed} passed, {len(self.findings) - passed} failed</p></div>")  # fmt: skip


def _shape_texts(value: Any, what: str) -> tuple[str, ...]:
    """Per-sample shapes as the CLI's text: ``53``, ``(53,)``, ``(16, "H", "W")`` or a list of them."""
    if value is None:
        return ()
    if isinstance(value, (str, int)):
        return (str(value),)
    if isinstance(value, Sequence) and all(isinstance(v, (int, str)) for v in value):
        return ("x".join(map(str, value)),)
    if isinstance(value, Sequence):
        return tuple(t for v in value for t in _shape_texts(v, what))
    raise CnnCalcError(f"{what}={value!r} is not a shape", None, "write (53,) or [(10,), (4,)] (per sample)")


def check(model: Any, input_size: Any = None, input_data: Any = None, *, batch_dim: int | None = None,
          sizes: Sequence[int] = (), expect_output: Any = None, max_params: int | None = None,
          dtypes: Sequence[Any] | None = None, device: Any = None, against: str | None = None,
          raise_on_failure: bool = False, timeout: float | None = 30.0, max_memory: int = 4 * 2**30) -> Checked:  # fmt: skip
    """The checks of ``cnncalc check`` on a live model: forward pass, batch size, sample independence.

    ``input_size`` as in :func:`summary` (its batch is not used: the model runs at batch sizes 2 and 3);
    ``sizes``: the values each symbol takes (``input_size=(3, "H", "W"), sizes=(28, 32)``);
    ``expect_output``: the per-sample output shape (``(53,)``; a list for several outputs);
    ``max_params``; ``against``: an architecture file to compare with, layer by layer. Returns the
    findings; raises :class:`CheckFailed` (an ``AssertionError``) only with ``raise_on_failure=True``.
    ``timeout`` and ``max_memory`` as in :func:`summary`.
    """
    from . import budget
    from .checks import CheckOptions, check_model

    target = _target(model)
    inputs = _inputs(input_size, input_data, batch_dim, dtypes)
    if not inputs.batch_first and inputs.form != "data" and not inputs.symbolic and inputs.full is not None:
        raise CnnCalcError(f"check runs the model at batch sizes 2 and 3 along the first dim; input_size="
                           f"{inputs.given} has no batch there", None,
                           "give the size with the batch first, or per sample with batch_dim=0")  # fmt: skip
    if inputs.kwargs:
        raise CnnCalcError("check runs the model at two batch sizes on made-up inputs; keyword inputs are not "
                           "supported", None, "pass input_size, or input_data as a tensor or a list of tensors")  # fmt: skip
    opts = CheckOptions(_shape_texts(expect_output, "expect_output"), max_params, tuple(sizes), {}, against,
                        _device(device))  # fmt: skip
    with _untouched(model), budget.limits(timeout, max_memory):
        if inputs.form != "per-sample" and not inputs.symbolic:
            from .pymodel.report import module_report

            _unbatched(module_report(target, inputs.specs, {}, opts.device, inputs.batch, symbolic=False,
                                     data=inputs.data), inputs)  # fmt: skip
        report = check_model(target, opts, [str(s) for s in inputs.specs], [s.dtype for s in inputs.specs])
    result = Checked(report)
    if raise_on_failure and not result.ok:
        raise CheckFailed(result)
    return result


__all__ = [
    "CheckFailed",
    "Checked",
    "Layer",
    "Summary",
    "Symbol",
    "TableOptions",
    "check",
    "clear_cached_forward_pass",
    "summary",
    "symbols",
]
