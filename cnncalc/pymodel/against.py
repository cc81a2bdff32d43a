"""``--against arch.yaml``: a Python model and its YAML specification, layer by layer.

Layers with parameters are paired in order (activations and pooling are often
functional calls in Python code and so have no module); each pair must agree in
type, per-sample output shape and parameter count. The input, the final output
and the total are compared too. Each failure points at the YAML line.
"""

from __future__ import annotations

from ..errors import plural
from ..report import Finding
from ..report import shape_x as _x
from .report import ModuleReport


def compare(rep: ModuleReport, path: str) -> list[Finding]:
    """Findings for every disagreement between ``rep`` (the model) and the architecture file ``path``."""
    from ..pipeline import shapes

    spec_report = shapes(path, verify=False)
    main = spec_report.defaults
    name = f"matches {path}"
    findings: list[Finding] = []
    y_in = tuple(main.graph.input_shape)
    if rep.shapes and tuple(rep.shapes[0]) != y_in:
        findings.append(Finding(name, False, "input", f"the file's input is {_x(y_in)}, the model was run on "
                                f"{_x(rep.shapes[0])}", spec_report.spec.input_loc))  # fmt: skip
    y_layers = [r for r in main.layers if r.params]
    p_rows = [r for r in rep.rows if r.leaf and r.call is not None and r.reused_from is None and r.params]
    for k, (y, p) in enumerate(zip(y_layers, p_rows)):
        p_shape = p.outputs[0][1].shape[1:] if p.outputs else ()
        problems = []
        if y.node.layer.name != p.type and f"torch {p.type}" not in y.node.layer.doc:  # Keras names: see doc
            problems.append(f"type {y.node.layer.name} vs {p.type}")
        if tuple(y.shape) != tuple(p_shape):
            problems.append(f"output {_x(y.shape)} vs {_x(p_shape)}")
        if int(y.params) != p.params:
            problems.append(f"parameters {int(y.params):,} vs {p.params:,}")
        if problems:
            findings.append(Finding(name, False, f"layer {k + 1} with parameters",
                                    f"{y.node.name!r} in the file and {p.name!r} in the model differ: "
                                    + ", ".join(problems), y.node.loc))  # fmt: skip
    if len(y_layers) != len(p_rows):
        if len(y_layers) > len(p_rows):
            y = y_layers[len(p_rows)]
            unmatched, loc = f"{y.node.name!r} (file)", y.node.loc
        else:
            unmatched, loc = f"{p_rows[len(y_layers)].name!r} (model)", spec_report.spec.loc
        text = (
            f"the file has {plural(len(y_layers), 'layer')} with parameters, the model {len(p_rows)}; "
            f"first unmatched: {unmatched}"
        )
        findings.append(Finding(name, False, "layer count", text, loc))
    if rep.outputs and tuple(rep.outputs[0][1].shape[1:]) != tuple(main.output_shape):
        findings.append(Finding(name, False, "output", f"the file gives {_x(main.output_shape)}, the model "
                                f"{_x(rep.outputs[0][1].shape[1:])}", spec_report.spec.loc))  # fmt: skip
    if int(main.total_params) != rep.counts.params:
        findings.append(Finding(name, False, "total parameters", f"the file has {int(main.total_params):,}, the "
                                f"model {rep.counts.params:,}", spec_report.spec.loc))  # fmt: skip
    if not findings:
        findings.append(Finding(name, True, "", f"{plural(len(p_rows), 'layer')} with parameters agree in type, output shape "
                                f"and count; total {rep.counts.params:,}"))  # fmt: skip
    return findings
