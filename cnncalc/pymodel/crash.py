"""Explaining a forward pass that raised: where (innermost module, source line) and why, in shapes.

torch says ``mat1 and mat2 shapes cannot be multiplied (2x800 and 512x53)``;
cnncalc says ``Linear 'fc3' expects 512 input features but receives 800 =
32x5x5 (output of 'pool2' for input 3x32x32)``. The innermost module is the one
whose forward hook never ran; the line is the innermost frame of the user's
code in the traceback; the sizes come from the hooks and the layer catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

from ..errors import CnnCalcError, Loc, described, first_line
from .catalogue import NOUNS, built_at, derive, inferred_mismatch, layer_type
from .cells import source_line
from .load import user_frame
from .trace import Call, Trace


@dataclass(frozen=True)
class Crash:
    """A located, translated forward-pass failure."""

    module: str  # qualified name of the innermost failing module ("" = the model itself)
    type: str
    loc: Loc | None  # the user's source line in the traceback
    source: str  # that line's text
    message: str  # in shapes
    torch_message: str
    hint: str = ""  # the fix, in code: "`fc3` expects 512 features; at 32×32 it needs `nn.Linear(800, 53)`, ..."

    def line(self) -> str:
        """One line: ``file:line:col: error: message (torch: ...); hint: ...``."""
        where = f"{self.loc}: " if self.loc else ""
        code = f" [at `{self.source}`]" if self.source else ""
        hint = f"; hint: {self.hint}" if self.hint else ""
        return f"{where}error: {self.message}{code}{self.torch_note}{hint}"

    @property
    def torch_note(self) -> str:
        """`` (torch: ...)`` when torch said something (not for sys.exit, the time limit or an output without tensors)."""
        return f" (torch: {self.torch_message})" if self.torch_message else ""


def no_tensor(trace: Trace, model: Any) -> Crash | None:
    """A forward pass that returned no tensor (None, a number, a string, a generator) failed: nothing was computed."""
    if trace.error is not None or trace.outputs:
        return None
    result = trace.result
    kind = type(result).__name__
    what = "None" if result is None else f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind}" + (
        f" ({result!r:.40})" if isinstance(result, (int, float, str)) else "")  # fmt: skip
    loc = _forward_loc(model)
    name = type(model).__name__
    return Crash("", name, loc, source_line(loc) if loc else "", f"{name}.forward returned {what}, not a tensor", "",
                 "return the output tensor (or a tuple, list or dict of tensors)")  # fmt: skip


def _forward_loc(model: Any) -> Loc | None:
    import inspect

    from .frames import frame_loc

    try:
        forward = type(model).forward
        file = inspect.getsourcefile(forward)
        _, line = inspect.getsourcelines(forward)
    except (OSError, TypeError, AttributeError):
        return None
    return frame_loc(file, line) if file else None


def explain(trace: Trace, model: Any, input_text: str) -> Crash:
    """Translate ``trace.error`` into shapes, at the innermost module that failed."""
    error = trace.error
    assert error is not None
    call = trace.innermost
    torch_message = described(error)
    loc = user_frame(error.__traceback__)
    source = source_line(loc) if loc else ""
    module = model.get_submodule(call.name) if call is not None else model
    name, type_name = (call.name, call.type) if call is not None else ("", type(model).__name__)
    label = f"{type_name} {name!r}" if name else f"{type_name}.forward"
    if not isinstance(error, Exception):  # sys.exit, a KeyboardInterrupt it raised, the time limit
        from .guard import HINTS, ModelTimeout, what_happened

        if isinstance(error, ModelTimeout):
            message = f"the forward pass {what_happened(error)}: it was running {label} (input {input_text})"
        else:
            message = f"{label} {what_happened(error)} (input {input_text})"
        return Crash(name, type_name, loc, source, message, "", HINTS.get(type(error), ""))
    if _out_of_memory(error):
        return Crash(name, type_name, loc, source, f"{label} ran out of memory on input {input_text}", torch_message,
                     "use smaller --input sizes; the model needs more memory than this machine gives it")  # fmt: skip
    message = _translate(trace, call, module, label, input_text, first_line(error))
    built = built_at(model, name) if name and layer_type(module) is not None else None
    if built is not None and built != loc:  # the constructor chose the arguments: where to fix them
        message += f" ({name!r} is built at {built}: `{source_line(built)}`)"
    return Crash(name, type_name, loc, source, message, torch_message, _fix(trace, call, model, input_text,
                                                                             first_line(error)))  # fmt: skip


def _out_of_memory(e: BaseException) -> bool:
    return isinstance(e, MemoryError) or (isinstance(e, RuntimeError) and (
        "can't allocate memory" in str(e) or "out of memory" in str(e).lower()))  # fmt: skip


def _fix(trace: Trace, call: Call | None, model: Any, input_text: str, text: str) -> str:
    """What to change: the Linear that gets the wrong number of features, written for this input size, or
    written to accept any size (``nn.LazyLinear`` infers ``in_features`` at the first call)."""
    at = "×".join(input_text.split("x")[1:]) or input_text
    if call is not None and call.inputs:
        module = model.get_submodule(call.name)
        wrong = inferred_mismatch(module, call.inputs[0].shape[1:]) if layer_type(module) is not None else None
        if wrong is not None and wrong[0] == "in_features" and hasattr(module, "out_features"):
            _, want, got = wrong
            return (f"`{call.name}` expects {want} features; at {at} it needs `nn.Linear({got}, "
                    f"{module.out_features})`, or use `nn.LazyLinear({module.out_features})` to accept any size")  # fmt: skip
    m = re.search(r"shape '\[(.*?)\]' is invalid for input of size (\d+)", text)
    if m is None or not trace.batch or int(m.group(2)) % trace.batch:
        return ""
    features, per = m.group(1).split(",")[-1].strip(), int(m.group(2)) // trace.batch
    called = {c.name for c in trace.calls}
    nxt = next((n for n, mod in model.named_modules() if n and n not in called and type(mod).__name__ == "Linear"
                and str(mod.in_features) == features), None)  # fmt: skip
    if nxt is None:
        return f"each sample has {per} values here; use `x.flatten(1)` to keep the batch dim whatever the size"
    out = model.get_submodule(nxt).out_features
    return (f"`{nxt}` expects {features} features; at {at} it needs `nn.Linear({per}, {out})`, or use `x.flatten(1)` "
            f"with `nn.LazyLinear({out})` to accept any size")  # fmt: skip


def _translate(trace: Trace, call: Call | None, module: Any, label: str, input_text: str, text: str) -> str:
    shape = call.inputs[0].shape[1:] if call is not None and call.inputs else ()
    if call is not None and layer_type(module) is not None and call.inputs:
        wrong = inferred_mismatch(module, shape)
        if wrong is not None:
            arg, expected, got = wrong
            return (f"{label} expects {expected} {NOUNS.get(arg, arg)} but receives {got}"
                    f"{_provenance(trace, call, got, arg, input_text)}")  # fmt: skip
        try:
            derive(module, call.name, shape)
        except CnnCalcError as e:
            return f"{label} cannot take a per-sample input {_dims(shape)}: {_strip(e.message, label)}" + (
                f"; {e.hint}" if e.hint else "")  # fmt: skip
    m = re.search(r"shape '\[(.*?)\]' is invalid for input of size (\d+)", text)
    if m is not None:
        target, size = m.group(1), int(m.group(2))
        batch = trace.batch or 1
        per = size // batch if size % batch == 0 else None
        where = f" in {label}" if call is not None else ""
        want = target.split(",")[-1].strip()
        if per is None or "-1" not in target.split(",")[0]:
            return f"view/reshape to [{target}]{where} cannot work on {size} values = batch {batch} x {size / batch:g}"
        return (f"view/reshape to [{target}]{where} needs {want} values per sample, but each sample has {per}"
                f"{_provenance(trace, call, per, 'values', input_text)}; {size} = {batch} x {per} values do not "
                f"split into rows of {want} (at other batch sizes they may, silently mixing samples)")  # fmt: skip
    m = re.search(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)", text)
    if m is not None:
        got, want = int(m.group(2)), int(m.group(3))
        return (f"a matrix product in {label} expects {want} features but receives {got}"
                f"{_provenance(trace, call, got, 'features', input_text)}")  # fmt: skip
    m = re.search(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton dimension (\d+)", text)  # fmt: skip
    if m is not None:
        return (f"two tensors combined elementwise in {label} differ in dim {m.group(3)} (batch = dim 0): "
                f"{m.group(1)} vs {m.group(2)}")  # fmt: skip
    m = re.search(
        r"Sizes of tensors must match except in dimension (\d+)\. Expected size (\d+) but got size (\d+)", text
    )
    if m is not None:
        return (f"torch.cat in {label} joins tensors that differ outside dim {m.group(1)} "
                f"(batch = dim 0): {m.group(2)} vs {m.group(3)}")  # fmt: skip
    inputs = ", ".join(_dims(i.shape) for i in call.inputs) if call is not None and call.inputs else ""
    return f"{label} fails" + (f" on input {inputs}" if inputs else "") + f": {text}"


def _provenance(trace: Trace, call: Call | None, got: int, what: str, input_text: str) -> str:
    """`` = 32x5x5 (output of 'pool2' for input 3x32x32)`` when an earlier module produced those values."""
    before = trace.calls  # execution stopped at the failure: every completed call came before it
    channels = what in ("in_channels", "num_features", "num_channels")
    for c in reversed(before):
        if not c.done or c.name == "" or not c.outputs:
            continue
        shape = c.outputs[0][1].shape[1:]
        if channels and shape and shape[0] == got:
            return f" (output of {c.name!r}, shape {_dims(shape)}, for input {input_text})"
        if not channels and prod(shape) == got:
            dims = f" = {_dims(shape, 'x')}" if len(shape) > 1 else ""
            return f"{dims} (output of {c.name!r} for input {input_text})"
    return f" (for input {input_text})"


def _dims(shape: Sequence[int], sep: str = ", ") -> str:
    return ("(" + sep.join(map(str, shape)) + ")") if sep == ", " else sep.join(map(str, shape))


def _strip(message: str, label: str) -> str:
    """Drop the ``Conv2d 'conv1': `` prefix the catalogue puts on its messages (the label says it)."""
    return message.split(": ", 1)[1] if message.startswith(label.split(" ")[0]) and ": " in message else message
