"""Differential fuzzing with files written from the format document (tests/generators.py).

For each random file: cnncalc accepts it exactly when the independent torch reference (tests/reference.py)
runs it, with the same shapes, parameters and buffers; its own verification passes (the receptive-field
check included); every probed unit's input-gradient support, computed from the real torch modules, lies
inside the region cnncalc reports, no unit sees more than ``size``; cnncalc's sample-independence finding
agrees with torch; and the command line gives a table or located errors with exit 2, never exit 3.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc import symbolic as sym
from cnncalc.analysis.receptive import Frame, region
from cnncalc.checks import _independence
from cnncalc.cli import main
from cnncalc.layers import CATALOGUE

from . import generators, reference
from .helpers import arch_text, both_verdicts

Case = tuple[list[dict[str, Any]], list[Any], "dict[str, int] | None", list[int]]
STATS: dict[str, int] = {"networks": 0, "accepted": 0, "rejected": 0, "layers": 0, "units probed": 0}


def _shapes_only(layers: list[dict[str, Any]], shape: list[int]) -> list[tuple[int, ...]]:
    return [s for s, _, _ in reference.run(layers, shape)]


@pytest.mark.slow
@given(generators.network(_shapes_only))
def test_random_files_agree_with_torch(case: Case) -> None:
    layers, shape, symbols, concrete = case
    text = arch_text(layers, shape, symbols)
    STATS["networks"] += 1
    report, expected = both_verdicts(layers, shape, symbols, concrete)
    if report is None:
        STATS["rejected"] += 1
        return
    STATS["accepted"] += 1
    STATS["layers"] += len(layers)
    assert report.ok, [m.message() for m in report.mismatches] + [text]
    assert [(r.shape, r.params, r.buffers) for r in report.defaults.layers] == expected, text
    _receptive_fields_hold(layers, concrete, report, text)
    mixing = not _independence(report.defaults, "").ok
    seen = reference.mixes_samples(layers, concrete)
    assert seen is None or mixing == seen, text  # None: the output is constant, no dependence shows


def _receptive_fields_hold(layers: list[dict[str, Any]], concrete: list[int], report: Any, text: str) -> None:
    """Input-gradient supports of the real modules lie inside cnncalc's regions; no unit exceeds ``size``."""
    spatial = len(concrete) - 1
    if spatial == 0 or report.rf is None or not report.rf.maps:
        return
    x = (torch.rand(2, *concrete) + 0.5).requires_grad_(True)  # two samples: batch statistics need them; probe 0
    outs = reference.forward(layers, x, positive=True)
    analysis = report.defaults
    for i in sorted({len(layers) - 1, len(layers) // 2}):
        r = analysis.layers[i]
        state, rf = report.rf.maps[i], report.rf.layers[i]
        if not rf.dims or type(state).__name__ == "Unknown":
            continue
        y = outs[layers[i]["id"]][0]
        if isinstance(state, Frame):
            units = [tuple(d // 2 for d in r.shape[1:]), (0,) * spatial]
        else:
            n = math.prod(r.shape)
            units = [(e,) for e in sorted({0, n // 2, n - 1})]
        for unit in units:
            if x.grad is not None:
                x.grad = None
            picked = y[(slice(None), *unit)].sum() if isinstance(state, Frame) else y.reshape(-1)[unit[0]]
            picked.backward(retain_graph=True)
            grad = x.grad.abs().sum(dim=1)[0] > 0
            where = {j: (u, u) for j, u in enumerate(unit)} if isinstance(state, Frame) else {0: (unit[0], unit[0])}
            want = region(analysis, i, where, report.rf)
            STATS["units probed"] += 1
            for j in range(spatial):
                other = tuple(k for k in range(spatial) if k != j)
                line = grad.any(dim=other) if other else grad
                idx = line.nonzero().flatten().tolist()
                if not idx:
                    continue
                lo, hi = want[j]
                assert lo <= idx[0] and idx[-1] <= hi, (layers[i]["id"], unit, j, idx, want[j], text)
                size = sym.substitute(rf.dims[j].size, dict(analysis.graph.binding))
                assert idx[-1] - idx[0] + 1 <= size, (layers[i]["id"], unit, j, idx, size, text)


@pytest.mark.slow
@given(generators.network(_shapes_only))
@settings(max_examples=60)
def test_the_command_line_gives_a_table_or_located_errors(case: Case) -> None:
    layers, shape, symbols, _ = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.yaml"
        path.write_text(arch_text(layers, shape, symbols))
        for args in (["shapes", "--no-verify", "--format", "json"], ["rf", "--no-verify"], ["check"]):
            result = CliRunner().invoke(main, [args[0], str(path), *args[1:]])
            assert result.exit_code in (0, 1, 2), (args, result.output, result.stderr)
            assert "Traceback" not in result.stderr and "internal error" not in result.stderr
            if result.exit_code == 2:
                lines = result.stderr.splitlines()
                assert lines and all(line.startswith(f"{path}:") or "more error" in line for line in lines), (
                    result.stderr
                )


def test_the_generators_cover_every_type_and_argument_of_the_catalogue() -> None:
    """Every catalogue type (Keras names and tensor ops included) has its arguments in the generator's table,
    and the table names nothing the catalogue does not have."""
    assert set(generators.SPEC) == set(CATALOGUE), set(generators.SPEC) ^ set(CATALOGUE)
    for name, (_, args) in generators.SPEC.items():
        assert set(args) == set(CATALOGUE[name].args), (name, set(args) ^ set(CATALOGUE[name].args))


@given(st.data())
@settings(max_examples=4000)
def _draw_single_layers(data: st.DataObject) -> None:
    """Single layers of every type on a tensor it takes, counted in the coverage table (printed at the end)."""
    name = data.draw(st.sampled_from(sorted(generators.SPEC)))
    family = generators.SPEC[name][0]
    shapes = [(3, 6), (4, 5, 6), (2, 4, 4, 4), (6,)]
    fitting = [s for s in shapes if generators._fits(family, generators.context(s))] or [(4, 5, 6)]
    generators.layer(data.draw, generators.context(data.draw(st.sampled_from(fitting))), name)


@pytest.mark.slow
def test_every_argument_is_drawn_from_each_of_its_value_classes() -> None:
    """Every argument of every type is given a value, and every optional one is also left out, by the draws of
    this test itself (so it holds whatever else ran in the process, with or without pytest-xdist)."""
    _draw_single_layers()
    missing = []
    for name, (_, args) in generators.SPEC.items():
        drawn = [(a, c) for (t, a, c) in generators.COVERAGE if t == name]
        if not drawn and args:
            missing.append(f"{name}: never drawn")
        for arg, (_, required) in args.items():
            classes = {c for a, c in drawn if a == arg}
            if not classes - {generators.OMIT}:
                missing.append(f"{name}.{arg}: never given a value")
            if not required and generators.OMIT not in classes:
                missing.append(f"{name}.{arg}: never left out")
    assert not missing, missing
