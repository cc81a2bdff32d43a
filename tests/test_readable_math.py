"""Mathematics as people read it (⌊H/4⌋, 32·(⌊H/4⌋ − 3), 512 == ...), and the simplest pooling forms.

The ceil_mode pooling rule is written without ``min`` whenever the hyper-parameters are known;
that form is checked here against torch's own formula at every size of a range, for every
kernel, stride, padding and dilation in a grid, alone and chained three deep.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from cnncalc import symbolic as sym
from cnncalc.cli import main
from cnncalc.layers.pool import pool_size

FORBIDDEN = re.compile(r"Eq\(|Min\(|Max\(|ceiling\(|floor\(|Mod\(")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def torch_pool_size(i: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """ATen's pooling_output_shape_pad_lr, transcribed (div_rtn on ints is floor division)."""
    o = (i + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= i + p:
        o -= 1
    return o


GRID = [(k, s, p, d) for k in range(1, 7) for s in range(1, 7) for p in range(0, k // 2 + 1) for d in (1, 2, 3)]


def test_ceil_mode_pooling_is_min_free_and_equals_torch_at_every_size() -> None:
    h = sym.symbol("H")
    for k, s, p, d in GRID:
        for ceil_mode in (False, True):
            expr = pool_size(h, k, s, p, d, ceil_mode)
            assert not FORBIDDEN.search(sym.to_text(expr)) and "Min" not in sym.machine_text(expr), (k, s, p, d)
            for i in range(1, 97):
                want = torch_pool_size(i, k, s, p, d, ceil_mode)
                if want >= 1:
                    assert sym.substitute(expr, {"H": i}) == want, (i, k, s, p, d, ceil_mode)


def test_chained_ceil_mode_pools_stay_exact() -> None:
    """Three pools deep (squeezenet has three ceil_mode pools): nested floors and ceilings merge exactly."""
    h = sym.symbol("H")
    chains = [((3, 2, 0, 1), (3, 2, 0, 1), (3, 2, 0, 1)), ((2, 2, 0, 1), (3, 3, 1, 1), (1, 2, 0, 1)),
              ((1, 3, 0, 1), (2, 2, 1, 1), (3, 2, 1, 2))]  # fmt: skip
    for chain in chains:
        expr: object = h
        for k, s, p, d in chain:
            expr = pool_size(expr, k, s, p, d, True)
        assert "Min" not in sym.machine_text(expr)
        for i in range(1, 200):
            want, ok = i, True
            for k, s, p, d in chain:
                want = torch_pool_size(want, k, s, p, d, True)
                ok = ok and want >= 1 and want + 2 * p >= d * (k - 1) + 1
            if ok:
                assert sym.substitute(expr, {"H": i}) == want, (chain, i)


def test_the_transcribed_formula_is_torchs() -> None:
    for k, s, p, d in GRID[::7]:
        for i in range(max(1, d * (k - 1) + 1 - 2 * p), 24):
            for ceil_mode in (False, True):
                x = torch.zeros(1, 1, i)
                got = torch.nn.functional.max_pool1d(x, k, s, p, d, ceil_mode=ceil_mode).shape[-1]
                assert got == torch_pool_size(i, k, s, p, d, ceil_mode), (i, k, s, p, d, ceil_mode)


def test_symbolic_hyper_parameters_keep_the_min() -> None:
    k = sym.symbol("k")
    assert "Min" in sym.machine_text(pool_size(sym.symbol("H"), k, 2, 0, 1, True))


@pytest.mark.parametrize("expr,text", [
    ("(32*floor(H/4) - 96)*(floor(W/4) - 3)", "32·(⌊H/4⌋ − 3)·(⌊W/4⌋ − 3)"),
    ("Eq(512, (32*floor(H/4) - 96)*(floor(W/4) - 3))", "512 == 32·(⌊H/4⌋ − 3)·(⌊W/4⌋ − 3)"),
    ("floor(H/16 - 21/16) + 1", "⌊(H − 5)/16⌋"),
    ("ceiling(H/2) - 3", "⌈H/2⌉ − 3"),
    ("Min(ceiling(H/4) - 2, floor(H/4 - 7/4) + 1)", "min(⌈H/4⌉ − 2, ⌊(H − 3)/4⌋)"),
    ("Eq(Mod(H, 4), 0)", "H % 4 == 0"),
])  # fmt: skip
def test_readable_text(expr: str, text: str) -> None:
    import sympy

    h, w = sym.symbol("H"), sym.symbol("W")
    value = sympy.sympify(expr, locals={"H": h, "W": w})
    assert sym.to_text(value) == text
    assert sympy.sympify(sym.machine_text(value), locals={"H": h, "W": w}) == value


def test_counts_are_grouped_in_expressions_and_results() -> None:
    import sympy

    h = sym.symbol("H")
    assert sym.to_text(640 * sympy.floor(h / 4) + 53706, grouping=True) == "640·⌊H/4⌋ + 53,706"
    code, out, _ = run("params", "conv", "-k", "5", "--in", "3", "--out", "32", "--no-verify")
    assert code == 0 and "= 2,432" in out and "2432" not in out


def test_squeezenet_traced_symbolically_reads_as_math_everywhere() -> None:
    args = ("shapes", "tests/models/squeezenet.py:SqueezeNet", "--input", "3xHxW")
    code, out, err = run(*args, "--width", "200")
    assert code == 0, err
    assert not FORBIDDEN.search(out) and "min(" not in out
    assert "1000×⌊(H − 5)/16⌋×⌊(W − 5)/16⌋" in out
    assert "Verified: torch" in out
    code, out, _ = run(*args, "--format", "json", "--no-verify")
    doc = json.loads(out)
    assert "Min(" not in doc["macs"] and "floor(" in doc["macs"]  # JSON keeps sympy's machine form


def test_conditions_and_totals_of_a_symbolic_file_read_as_math(tmp_path: object) -> None:
    code, out, _ = run("shapes", "tests/models/course_net.py:Net", "--input", "3xHxW", "--width", "200")
    assert "512 == 32·(⌊H/4⌋ − 3)·(⌊W/4⌋ − 3)" in out
    assert not FORBIDDEN.search(out)
    code, out, _ = run("shapes", "examples/cifar_cnn.yaml", "--no-verify", "--width", "200")
    assert code == 0 and "Total params: 640·⌊H/4⌋·⌊W/4⌋ + 53,706" in out and not FORBIDDEN.search(out)


def test_explain_text_and_latex() -> None:
    code, out, _ = run("explain", "examples/cifar_cnn.yaml", "--no-verify")
    assert code == 0 and not FORBIDDEN.search(out)
    assert "H_out = ⌊(H_in + 2·p − k)/s⌋ + 1" in out
    code, out, _ = run("explain", "examples/cifar_cnn.yaml", "--no-verify", "--format", "latex")
    assert code == 0 and "\\lfloor" in out
    assert not re.search(r"[⌊⌋⌈⌉·−]", out)  # LaTeX gets commands, never the text signs


def test_rules_read_as_math_in_layers_errors_and_explain(tmp_path: Path) -> None:
    """Every layer's rule as `cnncalc layers NAME` prints it, a too-small input's error and a rule in explain: no
    ``floor(``, ``ceil(`` or ``*`` (found by a hostile sweep: the rules were printed in code style)."""
    from click.testing import CliRunner

    from cnncalc.cli import main
    from cnncalc.layers import CATALOGUE

    runner = CliRunner()
    for name in CATALOGUE:
        out = runner.invoke(main, ["layers", name]).stdout
        assert not re.search(r"\bfloor\(|\bceil\(|\bceiling\(| \* ", out), (name, out)
    path = tmp_path / "small.yaml"
    path.write_text("cnncalc: 1\ninput: [3, 4, 4]\nlayers:\n  - {type: MaxPool2d, kernel_size: 7}\n")
    err = runner.invoke(main, ["shapes", str(path), "--no-verify"]).stderr
    assert "⌊(4 + 2·0 − 1·(7-1) − 1)/7⌋ + 1 = 0" in err and "floor(" not in err
    path.write_text("cnncalc: 1\ninput: [1, 8]\nlayers:\n  - {type: Upsample, scale_factor: 1.5}\n")
    out = runner.invoke(main, ["explain", str(path), "--no-verify"]).stdout
    assert "⌊float(i) · scale_factor⌋" in out and "floor(" not in out
