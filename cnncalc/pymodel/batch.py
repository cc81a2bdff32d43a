"""Batch checks: the output keeps the input's batch size, and samples never mix.

Both run the model on random inputs. The batch size is checked at two
batch sizes (2 and 3): at each, the output's dim 0 must be the input's batch
size, and a crash at either is a failure (a ``view(-1, N)`` that folds k
samples into one gives b/k rows, or raises, at every b >= 2). Independence: sample 0 of every input is replaced, and every
other sample of every output must stay the same; if one changes, sample i of
the output depends on sample 0 of the input. Each failure points at the first
torch operation, with its module and source line, where the batch went wrong.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import Loc
from .guard import ModelError
from .trace import caller, flatten, run


@dataclass(frozen=True)
class Culprit:
    """The first operation that broke the batch: its name, module and line."""

    op: str
    module: str
    loc: Loc | None
    before: tuple[int, ...]
    after: tuple[int, ...]

    def describe(self, changed: bool = True) -> str:
        """``Tensor.view in Net.forward at model.py:20 (`x = x.view(-1, 256)`) turned (2, 8, 8, 8) into (4, 256)``."""
        from .cells import source_line

        where = f" at {self.loc}" if self.loc else ""
        code = source_line(self.loc) if self.loc else ""
        text = f"{self.op} in {self.module}{where}" + (f" (`{code}`)" if code else "")
        return text + (f" turned {self.before} into {self.after}" if changed else "")


@dataclass(frozen=True)
class BatchProblem:
    """A batch-size change or a mix of samples."""

    kind: str  # "batch" or "mixing"
    message: str
    loc: Loc | None


def _op_name(func: Any) -> str:
    name = getattr(func, "__name__", str(func))
    owner = getattr(func, "__objclass__", None) or getattr(func, "__self__", None)
    return f"Tensor.{name}" if owner is not None and getattr(owner, "__name__", "") == "TensorBase" else name


Op = tuple[str, str, "Loc | None", tuple[int, ...], tuple[int, ...], Any]
"""(name, module, line, batched input shape, output shape, what ``keep`` extracted)."""


def _recorder(torch: Any, batch: int, keep: Callable[[Any, Any], Any]) -> tuple[list[Op], Callable[..., None]]:
    """Record every operation that takes a tensor with this batch size."""
    ops: list[Op] = []

    def on_op(func: Any, args: Any, out: Any, call: Any) -> None:
        ins = [t for _, t in flatten(torch, args) if t.dim() > 0 and t.shape[0] == batch]
        outs = flatten(torch, out)
        if not ins or not outs:
            return
        t = outs[0][1]
        module = "?" if call is None else f"{call.type} {call.name!r}" if call.name else f"{call.type}.forward"
        ops.append((_op_name(func), module, caller(4), tuple(ins[0].shape), tuple(t.shape), keep(ins[0], t)))

    return ops, on_op


def _failed(kind: str, error: BaseException, where: str) -> BatchProblem:
    """A run of the batch checks that failed although the forward pass worked at the first batch size."""
    from .frames import user_frame
    from .guard import what_happened

    return BatchProblem(kind, f"the forward pass {where} {what_happened(error)}", user_frame(error.__traceback__))


def check_batch(model: Any, make: Callable[[int], list[Any]], batches: Sequence[int] = (2, 3),
                note: str = "") -> list[BatchProblem]:  # fmt: skip
    """Run at two batch sizes; in every output exactly one dim must be the batch size, at both.

    Comparing two runs tells a batch dim from a dim that only happens to equal the batch size. The
    batch dim is dim 0, as in the input, except in a tensor that a torch.nn module returned as it
    is (an LSTM's ``h_n`` is (layers, B, H)): a permute of the model's own that moves it is an error.
    A crash at either batch size is an error (a ``view(-1, N)`` that folds samples often divides one).
    """
    from ..verify.torchload import import_torch

    torch = import_torch()
    runs: list[tuple[int, Any, list[Op]]] = []
    for b in batches:
        ops, on_op = _recorder(torch, b, lambda i, o: None)
        trace = run(model, make(b), on_op)
        if trace.error is not None:
            return [_crashed(trace.error, b, [r[0] for r in runs] or [x for x in batches if x != b], note)]
        runs.append((b, trace, ops))
    (b1, t1, ops1), (b2, t2, ops2) = runs
    kept: set[str] | None = None  # the outputs a torch.nn module returned as they are: found when needed
    for (path, o1), (_, o2) in zip(t1.outputs, t2.outputs):
        differ = [k for k, (x, y) in enumerate(zip(o1.shape, o2.shape)) if x != y]
        out = f"output{path}" if path else "the output"
        if (
            len(o1.shape) == len(o2.shape)
            and len(differ) == 1
            and (o1.shape[differ[0]], o2.shape[differ[0]]) == (b1, b2)
        ):
            if differ[0] != 0 and kept is None:
                kept = _module_outputs(torch, model, make(b1))
            if differ[0] == 0 or path in (kept or ()):
                continue
            text = (f"{out} has shape {o1.shape} for a batch of {b1} and {o2.shape} for {b2}: the batch moved from "
                    f"dim 0 to dim {differ[0]}")  # fmt: skip
        elif not differ:
            text = f"{out} has shape {o1.shape} for a batch of {b1} and of {b2}: no dimension follows the batch"
        else:
            text = (f"{out} has shape {o1.shape} for a batch of {b1} and {o2.shape} for {b2}: its batch dimension "
                    f"is {', '.join(f'{o1.shape[k]} / {o2.shape[k]}' for k in differ)}")  # fmt: skip
        first = next((c for c in t1.calls if c.done and c.outputs and c.name and c.outputs[0][1].shape
                      and c.outputs[0][1].shape[0] != b1 and c.inputs and c.inputs[0].shape[:1] != (b1,)), None)  # fmt: skip
        if first is not None:
            text += f"; the first module that receives a wrong batch is {first.type} {first.name!r}"
        culprit = next((Culprit(*op[:5]) for b, ops in ((b1, ops1), (b2, ops2)) for op in ops
                        if not op[4] or op[4][0] != b), None)  # fmt: skip
        if culprit is not None:
            text += f"; {culprit.describe()}"
        return [BatchProblem("batch", text, culprit.loc if culprit else None)]
    return []


def _crashed(error: BaseException, batch: int, ran: Sequence[int], note: str = "") -> BatchProblem:
    """The forward pass raised at ``batch`` although it ran at the batch sizes ``ran``."""
    from .frames import user_frame
    from .guard import what_happened

    at = " and ".join(map(str, ran))
    return BatchProblem("batch", f"at batch {batch} the forward pass {what_happened(error)}, although it runs at "
                        f"batch {at}{note}: the model depends on the batch size (a view or reshape that folds "
                        "samples together divides some batch sizes and not others)", user_frame(error.__traceback__))  # fmt: skip


def _module_outputs(torch: Any, model: Any, inputs: Sequence[Any]) -> set[str]:
    """The paths of the model's outputs that a torch.nn module (not the model's own code) returned as they are."""
    from .guard import running

    made: dict[int, Any] = {}  # the tensors themselves are kept: a freed tensor's id is reused by a later one

    def hook(m: Any, args: Any, out: Any) -> None:
        made.update((id(t), t) for _, t in flatten(torch, out))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if type(m).__module__.startswith("torch.nn.") and m is not model]  # fmt: skip
    try:
        with running("the forward pass"), torch.no_grad():
            result = model(*inputs)
    except ModelError:
        raise
    except Exception:
        return set()
    finally:
        for h in handles:
            h.remove()
    return {p for p, t in flatten(torch, result) if made.get(id(t)) is t}


def check_independence(model: Any, make: Callable[[int], list[Any]], batch: int = 3) -> list[BatchProblem]:
    """Replace sample 0 of every input; samples 1.. of every output must not change."""
    from ..verify.torchload import import_torch

    torch = import_torch()
    first = make(batch)
    second = [t.clone() for t in first]
    alt = make(batch + 1)
    for t, a in zip(second, alt):
        t[0] = a[-1]  # another random sample (integers stay in range)

    def rest(i: Any, o: Any) -> Any:
        return (
            o[1:].detach().double().sum().item() if o.dim() and o.shape[0] == batch and o.is_floating_point() else None
        )

    runs = []
    for inputs in (first, second):
        ops, on_op = _recorder(torch, batch, rest)
        trace = run(model, inputs, on_op)
        if trace.error is not None:
            return [_failed("mixing", trace.error, f"at batch {batch} with sample 0 replaced")]
        runs.append((trace, ops))
    (t1, ops1), (t2, _) = runs
    ops2 = runs[1][1]
    out1, out2 = flatten(torch, t1.result), flatten(torch, t2.result)
    for (path, a), (_, b) in zip(out1, out2):
        if a.dim() == 0 or a.shape[0] != batch or a.shape != b.shape:
            continue
        same = torch.allclose(a[1:].double(), b[1:].double(), rtol=1e-5, atol=1e-6) if a.is_floating_point() else \
            torch.equal(a[1:], b[1:])  # fmt: skip
        if same:
            continue
        changed = next(
            i for i in range(1, batch) if not torch.allclose(a[i].double(), b[i].double(), rtol=1e-5, atol=1e-6)
        )
        text = (f"samples mix: changing sample 0 of the input changes sample {changed} of "
                f"{'output' + path if path else 'the output'}")  # fmt: skip
        culprit = next((Culprit(*o1[:5]) for o1, o2 in zip(ops1, ops2) if o1[5] is not None and o2[5] is not None
                        and abs(o1[5] - o2[5]) > 1e-6 * (1 + abs(o1[5]))), None)  # fmt: skip
        if culprit is not None:
            text += f"; the first operation that mixes them is {culprit.describe(changed=False)}"
        return [BatchProblem("mixing", text, culprit.loc if culprit else None)]
    return []


def _run(torch: Any, model: Any, inputs: Sequence[Any]) -> Any:
    """A plain forward pass (no hooks): ``(output,)``, or the exception it raised.

    It runs under the model-code guard: past the time limit, or when the model calls sys.exit, the
    check stops with the model's failure (exit 1), located."""
    from .guard import running

    try:
        with running(f"the forward pass at batch {_batch_of(inputs)}"), torch.no_grad():
            return (model(*inputs),)
    except ModelError:  # sys.exit, the time limit: the model's failure, not a crash to report elsewhere
        raise
    except Exception as e:
        return e


def _batch_of(inputs: Sequence[Any]) -> str:
    shape = getattr(inputs[0], "shape", None) if inputs else None
    return str(shape[0]) if shape else "?"


def _walk(torch: Any, values: Sequence[Any], batches: Sequence[int], path: str = "",
          depth: int = 0) -> Iterator[tuple[str, Sequence[Any] | None]]:  # fmt: skip
    """(path, the tensors there) for every tensor of outputs of the same structure, run at ``batches``;
    a list whose length is the batch size in every run is a per-image list: (path, None)."""
    if all(isinstance(v, torch.Tensor) for v in values):
        yield path, values
        return
    a = values[0]
    if depth > 8:
        return
    if isinstance(a, tuple) and hasattr(a, "_fields"):
        for k in a._fields:
            yield from _walk(torch, [getattr(v, k, None) for v in values], batches, f"{path}.{k}", depth + 1)
    elif all(isinstance(v, (list, tuple)) for v in values):
        if [len(v) for v in values] == list(batches) and len(set(batches)) > 1:
            yield path, None
            return
        for i, items in enumerate(zip(*values)):
            yield from _walk(torch, items, batches, f"{path}[{i}]", depth + 1)
    elif all(isinstance(v, Mapping) for v in values):
        for k in a:
            if all(k in v for v in values):
                yield from _walk(torch, [v[k] for v in values], batches, f"{path}[{k!r}]", depth + 1)
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            yield from _walk(torch, [getattr(v, f.name, None) for v in values], batches, f"{path}.{f.name}", depth + 1)


@dataclass(frozen=True)
class BatchResult:
    """The batch-size and sample-independence checks, from shared forward passes."""

    batch: tuple[BatchProblem, ...]
    mixing: tuple[BatchProblem, ...]
    notes: tuple[str, ...]  # per-image lists, data-dependent sizes: what was not compared, and why


def check_batches(model: Any, make: Callable[[int], list[Any]], batches: tuple[int, int] = (2, 3),
                  first: Any = None, values: bool = True) -> BatchResult:  # fmt: skip
    """Both batch checks: ``first`` (what the model returned for ``make(b1)``, run here when not given), a run
    at b1 with sample 0 replaced, and a run at b2.

    The two b1 runs also tell data-dependent sizes (a detector's box count) from batch dimensions: a
    dim that changes with the data is never taken for the batch. A list with one entry per image is
    a per-image output. Only a failure costs more passes (with hooks again, to name the culprit).
    The b2 run is on meta tensors (torch's shape rules, no arithmetic) when a real one would take longer
    than torch's meta normalisation layers take to import torch._dynamo (about a second), and real
    otherwise, or when the model cannot run on meta tensors.
    """
    from ..verify.torchload import import_torch

    torch = import_torch()
    b1, b2 = batches
    one = make(b1)
    if first is None:
        got = _run(torch, model, one)
        if isinstance(got, BaseException):
            return BatchResult((_failed("batch", got, f"at batch {b1}"),), (), ())
        first = got[0]
    other = [t.clone() for t in one]
    for t, alt in zip(other, make(b1 + 1)):
        t[0] = alt[-1]  # another random sample (integers stay in range)
    start = time.perf_counter()
    second = _run(torch, model, other)
    if isinstance(second, BaseException):  # the same batch size, other values: a crash that depends on the data
        return BatchResult((_failed("batch", second, f"at batch {b1} with sample 0 replaced by another random "
                                    "sample"),), (), ())  # fmt: skip
    real = (time.perf_counter() - start) * b2 / b1  # what a real pass at b2 would take
    big = _on_meta(torch, model, make(b2)) if real > _META_COST else None
    if big is None:
        big = _run(torch, model, make(b2))
    if isinstance(big, BaseException):  # a crash at b2 is a failure, never a pass: check_batch locates it
        rows = [(p, tuple(t.shape)) for p, t in flatten(torch, first) if t.dim() and t.shape[0] != b1]
        note = "".join(f", where {'output' + p if p else 'the output'} is {s} for {b1} samples" for p, s in rows[:1])
        found = check_batch(model, make, batches, note) or [_crashed(big, b2, [b1], note)]
        return BatchResult(tuple(found), (), ())
    leaves = list(_walk(torch, [first, second[0], big[0]], [b1, b1, b2]))
    notes: list[str] = []
    per_image = [p for p, ts in leaves if ts is None]
    notes += [f"{'output' + p if p else 'the output'} is a list with one entry per image" for p in per_image]
    for path, ts in leaves:
        if ts is None:
            continue
        a, c, b = ts
        out = f"output{path}" if path else "the output"
        moving = {k for k, (x, z) in enumerate(zip(a.shape, c.shape)) if x != z} if a.dim() == c.dim() else set()
        if moving:
            notes.append(f"{out} has a size that depends on the data (dim {', '.join(map(str, sorted(moving)))}: "
                         f"{tuple(a.shape)} and {tuple(c.shape)} for two random batches of {b1}); not compared")  # fmt: skip
            continue
        differ = [k for k, (x, y) in enumerate(zip(a.shape, b.shape)) if x != y]
        if a.dim() == b.dim() and differ == [0] and (a.shape[0], b.shape[0]) == (b1, b2):
            continue
        found = check_batch(model, make, batches)  # with hooks: names the culprit; a torch.nn module's h_n passes
        if found:
            return BatchResult(tuple(found), (), tuple(notes))
        break
    if not values:  # a model on the meta device: shapes only, no values to compare
        return BatchResult((), (), tuple(notes))
    return BatchResult((), tuple(_mixing(torch, model, make, first, second[0], b1, per_image)), tuple(notes))


_META_COST = 1.0  # seconds: importing torch._dynamo, which torch's meta BatchNorm/LayerNorm kernels do


def _on_meta(torch: Any, model: Any, inputs: Sequence[Any]) -> Any:
    """A forward pass on meta tensors (shapes only); None when the model cannot run there."""
    from .guard import running
    from .trace import preserved

    try:
        with running(f"the forward pass at batch {_batch_of(inputs)}"), preserved(model, torch, torch.device("meta")), \
                torch.no_grad():  # fmt: skip
            return (model(*[t.to("meta") for t in inputs]),)
    except ModelError:
        raise
    except Exception:
        return None


def _mixing(torch: Any, model: Any, make: Callable[[int], list[Any]], one: Any, two: Any, batch: int,
            per_image: Sequence[str]) -> list[BatchProblem]:  # fmt: skip
    """Samples 1.. of every output must not change when sample 0 of the input does."""
    for (path, a), (_, b) in zip(flatten(torch, one), flatten(torch, two)):
        if a.shape != b.shape or a.dim() == 0:
            continue
        image = next((p for p in per_image if path.startswith(p + "[")), None)
        if image is not None:
            if path[len(image) + 1 :].startswith("0]"):
                continue
            if _close(torch, a, b):
                continue
        elif a.shape[0] != batch or _close(torch, a[1:], b[1:]):
            continue
        return check_independence(model, make, batch) or [BatchProblem(
            "mixing", f"samples mix: changing sample 0 of the input changes {'output' + path if path else 'the output'}",
            None)]  # fmt: skip
    return []


def _close(torch: Any, a: Any, b: Any) -> bool:
    if a.is_floating_point():
        return bool(torch.allclose(a.double(), b.double(), rtol=1e-5, atol=1e-6))
    return bool(torch.equal(a, b))


__all__ = ["BatchProblem", "BatchResult", "Culprit", "check_batch", "check_batches", "check_independence"]
