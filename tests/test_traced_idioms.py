"""The idioms of issue 22 trace into the catalogue, and torch agrees size by size (square and non-square).

For each model of tests/models/traced.py: the symbolic spec's output shape, evaluated at a size, is torch's
output shape there; its accepted sizes are where torch runs (batch 2 and 3, the batch kept); its
parameter count is ``sum(p.numel())``. A wrong ``view(-1, N)`` is derived and reported, not refused.
"""

from __future__ import annotations

import inspect
import json
import random
from typing import Any

import pytest
import torch
from click.testing import CliRunner

import tests.models.traced as traced
from cnncalc import symbolic as sym
from cnncalc.analysis.shapes import analyze
from cnncalc.cli import main
from cnncalc.graph import expand
from cnncalc.pymodel.fxspec import accepted_report, convert
from cnncalc.pymodel.inputs import parse_inputs

NAMES = [n for n, c in inspect.getmembers(traced, inspect.isclass) if c.__module__ == traced.__name__]
INPUTS = {"Pool3d": "1xDxHxW", "GlobalPools": "3xL"}


def sizes(symbols: list[str], seed: str) -> list[dict[str, int]]:
    rng = random.Random(seed)
    if len(symbols) == 1:
        return [{symbols[0]: v} for v in range(1, 65)]
    if len(symbols) == 3:
        return [dict(zip(symbols, (rng.randint(1, 9), rng.randint(1, 9), rng.randint(1, 9)))) for _ in range(40)]
    grid = [(h, w) for h in range(1, 11) for w in range(1, 11)]
    grid += [(rng.randint(1, 64), rng.randint(1, 64)) for _ in range(40)]
    return [dict(zip(symbols, p)) for p in grid]


def torch_output(model: torch.nn.Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    out = None
    for b in (2, 3):
        try:
            with torch.no_grad():
                y = model(torch.empty(b, *shape, device="meta"))  # torch's shape rules, no arithmetic
        except (RuntimeError, ValueError):
            return None
        if y.dim() == 0 or y.shape[0] != b:
            return None
        out = tuple(y.shape[1:])
    return out


@pytest.mark.parametrize("name", [n for n in NAMES if n != "WrongView"])
def test_idiom_traces_and_agrees_with_torch(name: str) -> None:
    model = getattr(traced, name)().eval()
    spec = parse_inputs([INPUTS.get(name, "3xHxW")])
    fx = convert(model, spec, {}, name)
    _, accepted = accepted_report(fx)
    symbols = list(spec[0].symbols)
    layers = list(analyze(expand(fx.spec, {n: sym.symbol(n) for n in symbols})).layers)
    assert sum(int(r.params) for r in layers) == sum(p.numel() for p in model.parameters())
    out = layers[-1].shape
    wrong: list[Any] = []
    meta = getattr(traced, name)().eval().to("meta")
    for values in sizes(symbols, name):
        shape = spec[0].bind(values)
        truth = torch_output(meta, shape)
        ok = accepted.contains(values)
        if ok != (truth is not None):
            wrong.append((values, truth, ok))
        elif ok and tuple(int(sym.substitute(d, values)) for d in out) != truth:
            wrong.append((values, truth, [sym.substitute(d, values) for d in out]))
    assert not wrong, (accepted.text, wrong[:5])


def test_a_wrong_view_is_derived_and_reported() -> None:
    out = CliRunner().invoke(main, ["shapes", "tests/models/traced.py:WrongView", "--input", "3xHxW", "--set",
                                    "H=8", "--set", "W=8"])  # fmt: skip
    assert out.exit_code == 1, out.stdout + out.stderr
    assert "no sizes were found" not in out.stdout + out.stderr
    assert "576" in out.stderr and "consistent only for inputs with H and W tied" in out.stderr


def test_a_wrong_view_without_sizes_is_derived_at_sizes_that_work() -> None:
    out = CliRunner().invoke(main, ["shapes", "tests/models/traced.py:WrongView", "--input", "3xHxW"])
    assert out.exit_code == 0, out.stdout + out.stderr
    assert "At H=10, W=11: output 10" in out.stdout  # 8·(10 − 2)·(11 − 2) = 576
    model = traced.WrongView()
    assert model(torch.zeros(3, 3, 10, 11)).shape == (3, 10)


def test_layers_of_a_traced_model_are_located_in_the_users_forward() -> None:
    out = CliRunner().invoke(main, ["explain", "tests/models/course_net.py:Net", "--input", "3x28x28"]).stdout
    source = open("tests/models/course_net.py").read().splitlines()
    lines = [int(x.rsplit("line ", 1)[1]) for x in out.splitlines() if " · line " in x]
    assert lines and all("self." in source[n - 1] or "x.view" in source[n - 1] for n in lines), lines


def test_an_operation_that_cannot_be_traced_names_its_line(tmp_path: Any) -> None:
    model = tmp_path / "spectral.py"
    model.write_text("import torch\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                     "        super().__init__()\n        self.conv = nn.Conv2d(3, 4, 3)\n\n    def forward(self, x):\n"
                     "        x = self.conv(x)\n        return torch.fft.fft2(x).real\n")  # fmt: skip
    out = CliRunner().invoke(main, ["shapes", f"{model}:Net", "--input", "3xHxW"])
    assert out.exit_code == 2
    (line,) = [x for x in out.stderr.splitlines() if "error" in x]
    assert "fft_fft2(conv) is not in the layer catalogue" in line and f"(at {model}:12:9)" in line


def test_functional_steps_get_rows_between_the_module_calls() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["shapes", "tests/models/course_net.py:Net", "--input", "3x28x28"]).stdout
    rows = [x for x in out.splitlines() if x.startswith("│   ")]
    names = [x.split("│")[1].strip() for x in rows]
    assert names[names.index("pool2") + 1] == "view(-1, 512)" and names[names.index("view(-1, 512)") + 1] == "fc3"
    assert "(B, 512)" in rows[names.index("view(-1, 512)")]
    doc = json.loads(runner.invoke(main, ["shapes", "tests/models/traced.py:UNetPad", "--input", "3x28x27",
                                          "--format", "json"]).stdout)  # fmt: skip
    steps = {s["type"]: s for s in doc["steps"]}
    model = traced.UNetPad().eval()
    assert steps["ZeroPad2d"]["output"] == [4, 28, 27] and steps["Concat"]["output"] == [8, 28, 27]
    assert list(model(torch.zeros(2, 3, 28, 27)).shape[1:]) == steps["Concat"]["output"]
    assert steps["ZeroPad2d"]["rule"] and steps["ZeroPad2d"]["location"].endswith(":45:9")


def test_a_crash_in_a_catalogue_module_names_where_it_is_built_and_called() -> None:
    out = CliRunner().invoke(main, ["check", "tests/models/course_net.py:FlatNet", "--input", "3x32x32"]).stdout
    source = open("tests/models/course_net.py").read().splitlines()
    built = next(i for i, x in enumerate(source, 1) if "self.fc3 = nn.Linear" in x)
    called = [i for i, x in enumerate(source, 1) if "return self.fc3(x)" in x][1]  # FlatNet.forward
    assert f"course_net.py:{called}:9: error: Linear 'fc3'" in out
    assert f"'fc3' is built at tests/models/course_net.py:{built}:9: `self.fc3 = nn.Linear(512, num_classes)`" in out


def test_a_view_of_a_transposed_map_is_refused_as_torch_refuses_it(tmp_path: Any) -> None:
    model = tmp_path / "tview.py"
    body = ("import torch\nfrom torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.conv = nn.Conv2d(3, 4, 3)\n\n    def forward(self, x):\n"
            "        x = torch.relu(self.conv(x)).transpose(2, 3){}\n        return x.view(x.size(0), -1)\n")  # fmt: skip
    model.write_text(body.format(""))
    with pytest.raises(RuntimeError):
        import importlib.util

        spec = importlib.util.spec_from_file_location("tview", model)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.Net()(torch.zeros(2, 3, 8, 8))
    out = CliRunner().invoke(main, ["shapes", f"{model}:Net", "--input", "3xHxW"])
    assert out.exit_code == 2 and "view of a transposed or permuted tensor" in out.stderr
    assert f"{model}:12:9" in out.stderr
    model.write_text(body.format(".contiguous()"))
    out = CliRunner().invoke(main, ["shapes", f"{model}:Net", "--input", "3xHxW"])
    assert out.exit_code == 0, out.stderr


def test_module_rows_say_where_init_builds_them_and_where_forward_calls_them() -> None:
    doc = json.loads(CliRunner().invoke(main, ["shapes", "tests/models/course_net.py:Net", "--input", "3x28x28",
                                               "--format", "json"]).stdout)  # fmt: skip
    source = open("tests/models/course_net.py").read().splitlines()
    for m in doc["modules"][1:]:
        line = int(m["built_at"].split(":")[1])
        assert source[line - 1].strip().startswith(f"self.{m['name']} = nn."), m
        assert f"self.{m['name']}(" in source[int(m["called_from"].split(":")[1]) - 1], m
