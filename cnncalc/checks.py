"""``cnncalc check``: the checks CI runs on an architecture file or a Python model, as findings.

Each check gives a :class:`Finding` (passed or failed, with a location when one
is known); ``CheckReport.ok`` decides the exit code (0 all passed, 1 one failed).
Bad input (a missing file, an import error, a constructor that needs arguments)
raises CnnCalcError instead: exit 2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import budget
from .errors import CnnCalcError, Loc, plural
from .report import CheckReport, Finding, shape_x


@dataclass(frozen=True)
class CheckOptions:
    """What to check besides the forward pass."""

    expect_output: tuple[str, ...] = ()  # per-sample shapes, one per output tensor ("53", "16xHxW")
    max_params: int | None = None
    sizes: tuple[int, ...] = ()
    set_values: Mapping[str, int] = field(default_factory=dict)
    against: str | None = None
    device: str = "auto"
    batches: tuple[int, int] = (2, 3)


def check(target: str, opts: CheckOptions, inputs: Sequence[str] = (), dtypes: Sequence[str] = (),
          kwargs: Mapping[str, Any] | None = None) -> CheckReport:  # fmt: skip
    """Run every check on ``target`` (an architecture file, or a Python model with ``inputs``)."""
    from .pymodel import is_python_target

    if is_python_target(target):
        return _check_python(target, opts, inputs, dtypes, kwargs or {})
    from .keras import is_keras_file

    if is_keras_file(target) and not opts.against:  # a saved Keras model: its config, as an architecture file
        from .keras.files import spec as keras_spec
        from .pymodel.inputs import parse_inputs

        with budget.deadline():
            return _check_spec(target, keras_spec(target, parse_inputs(inputs, dtypes) if inputs else ()), opts)
    if inputs or dtypes or kwargs:
        raise CnnCalcError("--input, --input-dtype and --kwargs are for Python targets", None,
                           "an architecture file declares its own input")  # fmt: skip
    if opts.against:
        raise CnnCalcError("--against compares a Python model with an architecture file", None,
                           "use it with a Python target: cnncalc check model.py:Net --input ... --against arch.yaml")  # fmt: skip
    return _check_yaml(target, opts)


def _expected(texts: Sequence[str], values: Mapping[str, int]) -> list[tuple[int, ...]]:
    from .pymodel.inputs import parse_inputs

    specs = parse_inputs(texts)
    missing = [n for s in specs for n in s.symbols if n not in values]
    if missing:
        raise CnnCalcError(f"--expect-output uses {missing[0]!r}, which no --input or file symbol defines", None)
    return [s.bind(values) for s in specs]


def _output_finding(got: Sequence[tuple[int, ...]], opts: CheckOptions, values: Mapping[str, int], where: str,
                    loc: Loc | None, names: Sequence[str] = ()) -> Finding | None:  # fmt: skip
    if not opts.expect_output:
        return None
    want = _expected(opts.expect_output, values)
    if len(want) != len(got):
        return Finding("output shape", False, where, f"expected {len(want)} output tensor(s), the model returns "
                       f"{len(got)}", loc)  # fmt: skip
    for k, (w, g) in enumerate(zip(want, got)):
        if tuple(w) != tuple(g):
            label = f"output {names[k]}" if names and names[k] else "the output"
            return Finding("output shape", False, where,
                           f"{label} is {shape_x(g)} per sample, expected {shape_x(w)} (--expect-output)", loc)  # fmt: skip
    return Finding("output shape", True, where, ", ".join(shape_x(g) for g in got))


def _params_finding(params: int, opts: CheckOptions, loc: Loc | None) -> Finding | None:
    if opts.max_params is None:
        return None
    ok = params <= opts.max_params
    text = f"{params:,} parameters" + ("" if ok else f", more than --max-params {opts.max_params:,}")
    return Finding("parameter budget", ok, "", text, loc)


def _check_yaml(path: str, opts: CheckOptions) -> CheckReport:
    from . import pipeline

    with budget.deadline():  # the --timeout limit covers all the work on the file, every size
        return _check_spec(path, pipeline.load(path), opts)  # a parse error is bad input: exit 2


def _check_spec(path: str, spec: Any, opts: CheckOptions) -> CheckReport:
    from . import pipeline

    names = [n for n, _, _ in spec.symbols]
    points = [{**{n: s for n in names if n not in opts.set_values}, **opts.set_values} for s in opts.sizes] or [
        dict(opts.set_values)]  # fmt: skip
    if opts.sizes and not names:
        raise CnnCalcError("--sizes needs symbols in the file (e.g. input: [3, H, W])", None)
    findings: list[Finding] = []
    params = None
    for values in points:
        where = ", ".join(f"{k}={v}" for k, v in values.items())
        try:
            report = pipeline.shapes(spec, values, device=opts.device, extra_points=0)
        except CnnCalcError as e:  # the file cannot work (at these sizes): bad input, exit 2, as in every command
            if not opts.sizes or type(e) is not CnnCalcError:
                raise
            raise CnnCalcError(f"{e.message} (at --sizes {where})", e.loc, e.hint, e.chain) from None
        bad = report.failures  # each expectation not met, each disagreement: one located line each
        meta = " (on torch's meta device: a real pass is over --max-memory)" if report.device == "meta" else ""
        if bad:
            titles = {"expect": "expected shapes"}  # else a disagreement with torch
            findings += [Finding(titles.get(f.name, "shapes verified by torch"), False, where, f.message, f.loc)
                         for f in bad]  # fmt: skip
        else:
            done = f"{plural(len(report.main.layers), 'layer')}, output {shape_x(report.defaults.output_shape)}{meta}"
            findings.append(Finding("shapes verified by torch", True, where, done))
        findings.append(_independence(report.defaults, where))
        out = _output_finding([report.defaults.output_shape], opts, report.defaults.graph.binding, where,
                              spec.layers[-1].loc if spec.layers else None)  # fmt: skip
        findings += [out] if out else []
        params = int(report.defaults.total_params)
    if params is not None:
        over = _params_finding(params, opts, spec.loc)
        findings += [over] if over else []
    return CheckReport(path, "yaml", tuple(findings), params)


def _independence(analysis: Any, where: str) -> Finding:
    """Whether sample i of the output depends only on sample i: the layers that mix samples in eval mode say so."""
    found = analysis.mixing()
    if found:
        r, why = found
        return Finding("sample independence", False, where, f"{r.node.layer.name} {r.node.name!r}: {why}, so "
                       "each sample's output depends on the other samples of the batch", r.node.loc)  # fmt: skip
    return Finding("sample independence", True, where, "sample i of the output depends only on sample i")


def _check_python(target_text: str, opts: CheckOptions, inputs: Sequence[str], dtypes: Sequence[str],
                  kwargs: Mapping[str, Any]) -> CheckReport:  # fmt: skip
    from .pymodel.load import load_target

    target = load_target(target_text, kwargs)
    from .keras.target import is_keras_model

    if is_keras_model(target.model):  # its config, through the Keras reader, as an architecture file
        from .keras.target import spec as keras_spec
        from .pymodel.inputs import parse_inputs

        specs = parse_inputs(inputs, dtypes) if inputs else ()
        return _check_spec(target_text, keras_spec(target.model, specs, opts.set_values, target_text), opts)
    return check_model(target, opts, inputs, dtypes)


def check_model(target: Any, opts: CheckOptions, inputs: Sequence[str], dtypes: Sequence[str] = ()) -> CheckReport:
    """The checks of a Python model: a loaded Target, or an nn.Module instance (``cnncalc.testing``)."""
    from .pymodel.batch import check_batches
    from .pymodel.inputs import make_tensors, parse_inputs, size_points
    from .pymodel.load import Target
    from .pymodel.report import device_of, float_dtype, module_report, vocabulary
    from .pymodel.trace import preserved
    from .verify.torchload import import_torch

    if not isinstance(target, Target):
        target = Target(type(target).__name__, None, type(target).__name__, target)
    target_text = target.text
    specs = parse_inputs(inputs, dtypes)
    points = size_points(specs, opts.sizes, opts.set_values)
    torch = import_torch()
    model = target.model
    home = _class_loc(model)
    from .pymodel.guard import failures
    from .pymodel.memory import check_inputs

    findings: list[Finding] = []
    reports = []
    for values in points:
        rep = module_report(target, specs, values, opts.device, opts.batches[0], symbolic=False, verify_rf=False)
        reports.append(rep)
        where = f"input {rep.input_text}"
        if rep.crash is not None:
            text = rep.crash.message + (f" [at `{rep.crash.source}`]" if rep.crash.source else "")
            sizes = rep.accepted_sizes
            if sizes is not None and sizes.tie == "none":
                text += f". {sizes.text[:1].upper()}{sizes.text[1:]}"
            elif sizes is not None:
                text += f". The model is consistent only for inputs with {sizes.text}"
                text += f" (valid when {', '.join(rep.conditions)})" if rep.conditions else ""
            hint = f"; hint: {rep.crash.hint}" if rep.crash.hint else ""
            findings.append(Finding("forward pass", False, where, text + f"{rep.crash.torch_note}{hint}",
                                    rep.crash.loc))  # fmt: skip
            continue
        findings.append(Finding("forward pass", True, where, f"output {_outputs(rep)}"))
        with failures(target_text, home):
            dev = device_of(torch, model, opts.device)
            check_inputs(target_text, rep.shapes, specs, max(opts.batches) + 1, None, dev)

            def make(b: int, values: Mapping[str, int] = values, dev: Any = dev) -> list[Any]:
                shapes = [s.bind(values) for s in specs]
                return make_tensors(torch, shapes, specs, b, dev, float_dtype(torch, model), vocabulary(model))

            values_known = str(dev) != "meta"  # a model on the meta device has shapes, no values to compare
            with preserved(model, torch, dev if opts.device != "auto" else None):
                result = check_batches(model, make, opts.batches, rep.result, values_known)
        batch, mixing = result.batch, result.mixing
        b1, b2 = opts.batches
        notes = "".join(f"; {n}" for n in result.notes)
        findings.append(Finding("batch size", not batch, f"{where}, batches {b1} and {b2}",
                                batch[0].message if batch else "the output keeps the batch size" + notes,
                                batch[0].loc if batch else None))  # fmt: skip
        if not batch and values_known:
            findings.append(Finding("sample independence", not mixing, where,
                                    mixing[0].message if mixing else "sample i of the output depends only on sample i",
                                    mixing[0].loc if mixing else None))  # fmt: skip
        if rep.mismatches:
            findings.append(Finding("cnncalc rules vs torch", False, where, "; ".join(rep.mismatches), home))
        got = [i.shape[1:] for _, i in rep.outputs]
        out = _output_finding(got, opts, values, where, home, [p.lstrip(".") for p, _ in rep.outputs])
        findings += [out] if out else []
    params = reports[0].counts.params if reports else None
    if params is not None:
        over = _params_finding(params, opts, home)
        findings += [over] if over else []
    if opts.against:
        from .pymodel.against import compare

        done = next((r for r in reports if r.crash is None), None)
        if done is None:
            findings.append(Finding("matches " + opts.against, False, "", "the model does not run, so there is "
                                    "nothing to compare", home))  # fmt: skip
        else:
            findings += compare(done, opts.against)
    return CheckReport(target_text, "python", tuple(findings), params)


def _outputs(rep: Any) -> str:
    from .pymodel.trace import output_text

    return output_text(rep.outputs, rep.batch)


def _class_loc(model: Any) -> Loc | None:
    """Where the model's class is defined (for annotations about the whole model)."""
    import inspect

    from .pymodel.cells import class_line
    from .pymodel.load import frame_loc

    in_cell = class_line(type(model))
    if in_cell is not None:
        return frame_loc(*in_cell)
    try:
        file = inspect.getsourcefile(type(model))
        _, line = inspect.getsourcelines(type(model))
    except (OSError, TypeError):
        return None
    return frame_loc(file, line) if file else None
