"""Python targets (model.py:Net) and cnncalc check: a suite of small models, every check and message.

Counts are compared with ``sum(p.numel() for p in model.parameters())``, module tables with their
flat sums, and a random-Sequential differential test compares cnncalc's rules with torch's hooks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnncalc.checks import CheckOptions, check_model
from cnncalc.cli import main
from cnncalc.pymodel.inputs import parse_inputs
from cnncalc.pymodel.load import Target, load_target
from cnncalc.pymodel.report import module_report
from cnncalc.testing import assert_shapes
from tests.models.buggy import BatchMixing
from tests.models.course_net import FlatNet, Net

MODELS = "tests/models"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def modules_json(target: str, *args: str) -> dict[str, Any]:
    code, out, err = run("shapes", f"{MODELS}/{target}", *args, "--format", "json")
    assert code in (0, 1), err
    return dict(json.loads(out))


def line_of(file: str, code: str) -> int:
    """The line of ``code`` in a model file (so the tests follow edits of the models)."""
    return next(i for i, text in enumerate(Path(f"{MODELS}/{file}").read_text().splitlines(), 1) if code in text)


VIEW = line_of("course_net.py", "x = x.view(-1, 512)")
FC3 = line_of("course_net.py", "x = x.flatten(1)") + 1  # FlatNet's `return self.fc3(x)`
DOUBLE = line_of("buggy.py", "x = x.view(-1, 256)")
MIX = line_of("buggy.py", "x = x - x.mean(0)")


def numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def assert_nested_totals(doc: dict[str, Any], model: nn.Module) -> None:
    """Every container's count is its own parameters plus its children's; the flat sum is the total."""
    firsts = [m for m in doc["modules"] if m["reused_from"] is None]
    assert sum(m["own_params"] for m in firsts) == doc["totals"]["params"] == numel(model)
    by_name = {m["name"]: m for m in firsts}
    for name, row in by_name.items():
        if row["leaf"]:
            continue
        prefix = f"{name}." if name else ""
        kids = [m for n, m in by_name.items() if n.startswith(prefix) and n != name and "." not in n[len(prefix) :]]
        assert row["params"] == row["own_params"] + sum(k["params"] for k in kids), name


# --- the course network of the issue -------------------------------------------------------------


def test_course_net_at_28_passes_every_check() -> None:
    code, out, _ = run("check", f"{MODELS}/course_net.py:Net", "--input", "3x28x28", "--expect-output", "53")
    assert code == 0, out
    assert "✓ forward pass at input 3x28x28" in out and "✓ batch size" in out and "✓ sample independence" in out
    assert "✓ output shape at input 3x28x28: 53" in out


def test_course_net_at_32_crash_is_located_and_explained_in_shapes() -> None:
    code, out, _ = run("check", f"{MODELS}/course_net.py:Net", "--input", "3xHxW", "--sizes", "28,32")
    assert code == 1
    assert "✓ forward pass at input 3x28x28" in out
    line = next(x for x in out.splitlines() if f"course_net.py:{VIEW}:9: error:" in x)  # column: the statement
    assert "view/reshape to [-1, 512]" in line and "each sample has 800 = 32x5x5 (output of 'pool2'" in line
    assert "`x = x.view(-1, 512)`" in line
    assert "consistent only for inputs with H and W tied: H in 16..19 with W in 76..79" in line
    assert "shape '[-1, 512]' is invalid for input of size 1600" in line  # torch's own words, kept
    assert line.endswith("; hint: `fc3` expects 512 features; at 32×32 it needs `nn.Linear(800, 53)`, or use "
                         "`x.flatten(1)` with `nn.LazyLinear(53)` to accept any size")  # fmt: skip
    for size in (28, 29, 31):
        assert Net()(torch.zeros(2, 3, size, size)).shape == (2, 53)
    with pytest.raises(RuntimeError):
        Net()(torch.zeros(2, 3, 32, 32))


def test_linear_crash_names_module_features_and_producer() -> None:
    code, out, _ = run("check", f"{MODELS}/course_net.py:FlatNet", "--input", "3x32x32")
    assert code == 1
    assert (f"course_net.py:{FC3}:9: error: Linear 'fc3' expects 512 input features but receives 800 = 32x5x5 "
            "(output of 'pool2' for input 3x32x32)") in out  # fmt: skip
    assert ("hint: `fc3` expects 512 features; at 32×32 it needs `nn.Linear(800, 53)`, or use `nn.LazyLinear(53)` "
            "to accept any size") in out  # fmt: skip
    for fix in (nn.Linear(800, 53), nn.LazyLinear(53)):  # the hint's fixes work
        net = FlatNet()
        net.fc3 = fix
        assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 53)
    assert "H in 28..31 with W in 28..31" in out


def test_batch_of_16_silently_corrupts_and_the_batch_check_catches_it() -> None:
    net = Net()
    assert net(torch.zeros(16, 3, 32, 32)).shape == (25, 53)  # torch says nothing: 16 samples became 25 rows
    target = load_target(f"{MODELS}/course_net.py:Net")
    report = check_model(target, CheckOptions(batches=(16, 32)), ["3x32x32"])
    bad = [f for f in report.failures if f.name == "batch size"]
    assert bad and "(25, 53) for a batch of 16 and (50, 53) for 32" in bad[0].message
    assert bad[0].loc is not None and bad[0].loc.line == VIEW
    assert "Tensor.view" in bad[0].message and "turned (16, 32, 5, 5) into (25, 512)" in bad[0].message


def test_github_annotations_and_junit_point_at_the_source_line(tmp_path: Path) -> None:
    xml = tmp_path / "r.xml"
    code, out, _ = run("check", f"{MODELS}/course_net.py:FlatNet", "--input", "3x32x32", "--format", "github",
                       "--junit-xml", str(xml))  # fmt: skip
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(f"::error file=tests/models/course_net.py,line={FC3},col=9,title=cnncalc%3A forward pass")
    assert "::Linear 'fc3' expects 512" in first
    suite = ET.parse(xml).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    case = suite.find("testcase")
    assert case is not None and case.get("line") == str(FC3) and case.find("failure") is not None


def test_json_check_document() -> None:
    code, out, _ = run("check", f"{MODELS}/buggy.py:Doubling", "--input", "1x16x16", "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["schema"] == "cnncalc.check/1" and doc["ok"] is False
    batch = next(c for c in doc["checks"] if c["name"] == "batch size")
    assert batch["ok"] is False and batch["location"] == {"file": "tests/models/buggy.py", "line": DOUBLE, "column": 9}


# --- batch bugs -----------------------------------------------------------------------------------


def test_doubling_batch_points_at_the_view() -> None:
    code, out, _ = run("check", f"{MODELS}/buggy.py:Doubling", "--input", "1x16x16")
    assert code == 1
    assert "the output has shape (4, 10) for a batch of 2 and (6, 10) for 3" in out
    assert "the first module that receives a wrong batch is Linear 'fc'" in out
    assert "(`x = x.view(-1, 256)`) turned (2, 8, 8, 8) into (4, 256)" in out


def test_batch_mixing_is_found_and_located() -> None:
    code, out, _ = run("check", f"{MODELS}/buggy.py:BatchMixing", "--input", "1x8x8")
    assert code == 1
    assert "✓ batch size" in out
    assert "samples mix: changing sample 0 of the input changes sample 1 of the output" in out
    assert f"buggy.py:{MIX}:9" in out and "(`x = x - x.mean(0)`)" in out


def test_lstm_state_with_batch_in_dim_1_is_not_a_batch_error() -> None:
    code, out, _ = run("check", f"{MODELS}/language.py:TiedLM", "--input", "12", "--input-dtype", "long")
    assert code == 0, out


# --- a failure deep inside nested modules ---------------------------------------------------------


def test_deep_failure_names_the_innermost_module_and_the_calling_line() -> None:
    code, out, _ = run("check", f"{MODELS}/buggy.py:DeepFailure", "--input", "3x16x16", "--format", "json")
    doc = json.loads(out)
    fail = doc["checks"][0]
    assert code == 1 and fail["name"] == "forward pass" and not fail["ok"]
    assert fail["message"].startswith("Conv2d 'stages.0.blocks.2' expects 3 input channels but receives 32 "
                                      "(output of 'stages.0.blocks.1', shape (32, 16, 16)")  # fmt: skip
    assert fail["location"]["line"] == line_of(
        "buggy.py", "return self.blocks(x)"
    )  # `return self.blocks(x)` in Stage.forward
    shapes = modules_json("buggy.py:DeepFailure", "--input", "3x16x16")
    crashed = [m["name"] for m in shapes["modules"] if m["called"] and not m["completed"]]
    assert crashed == ["", "stages.0", "stages.0.blocks", "stages.0.blocks.2"]


# --- counts: tied, shared, custom parameters, LSTM, attention -------------------------------------


def test_tied_weights_lstm_and_container_parameter_counted_once() -> None:
    doc = modules_json("language.py:TiedLM", "--input", "12", "--input-dtype", "long")
    model = load_target(f"{MODELS}/language.py:TiedLM").model
    assert doc["totals"]["params"] == numel(model) == 100 * 16 + 4 * 16 * (16 + 16) + 8 * 16 + 100 + 1
    assert doc["shared_parameters"] == [{"name": "decoder.weight", "same_as": "embed.weight"}]
    root = doc["modules"][0]
    assert root["own_params"] == 1  # the temperature nn.Parameter on the container
    assert [o["path"] for o in doc["outputs"]] == ["[0]", "[1][0]", "[1][1]"]
    assert doc["outputs"][1]["shape"] == [1, 2, 16]
    assert_nested_totals(doc, model)


@pytest.mark.parametrize(
    ("module", "published"),
    [(nn.LSTM(10, 20), 2560), (nn.LSTM(10, 20, num_layers=2, bidirectional=True), 15040)],
    ids=["lstm", "lstm-2-layer-bidirectional"],
)
def test_trap_9_lstm_parameters(module: nn.Module, published: int) -> None:
    rep = module_report(Target("lstm", None, "lstm", module), parse_inputs(["5x10"]), {})
    assert rep.counts.params == numel(module) == published


def test_trap_8_attention_counted_as_a_whole_not_as_leaf_sum() -> None:
    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mha = nn.MultiheadAttention(64, 8, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.mha(x, x, x)[0]

    model = Attention()
    rep = module_report(Target("attn", None, "attn", model), parse_inputs(["5x64"]), {})
    assert rep.counts.params == numel(model) == 16640
    out_proj = next(r for r in rep.rows if r.name == "mha.out_proj")
    assert out_proj.params == 4160 and out_proj.call is None  # the leaf sum torchinfo-style tables would show
    assert rep.rows[1].own == 16640 - 4160


def test_reused_module_two_inputs_and_a_float64_head() -> None:
    doc = modules_json("buggy.py:ImageAndVector", "--input", "3x32x32", "--input", "10")
    acts = [m for m in doc["modules"] if m["name"] == "act"]
    assert len(acts) == 2 and acts[1]["reused_from"] == "act" and acts[1]["own_params"] == 0
    assert doc["outputs"][0]["dtype"] == "float64" and doc["outputs"][0]["shape"] == [2, 2]
    model = load_target(f"{MODELS}/buggy.py:ImageAndVector").model
    assert_nested_totals(doc, model)


def test_dict_and_dataclass_outputs_have_paths() -> None:
    doc = modules_json("outputs.py:ResidualDict", "--input", "3x8x8")
    assert [(o["path"], o["shape"]) for o in doc["outputs"]] == [
        ("['logits']", [2, 10]),
        ("['features']", [2, 16, 8, 8]),
    ]
    assert_nested_totals(doc, load_target(f"{MODELS}/outputs.py:ResidualDict").model)
    doc = modules_json("outputs.py:TwoHeads", "--input", "3x16x16")
    assert [o["path"] for o in doc["outputs"]] == ["[0].boxes", "[0].scores", "[1]"]
    code, out, _ = run("check", f"{MODELS}/outputs.py:TwoHeads", "--input", "3x16x16", "--expect-output", "4x4x4",
                       "--expect-output", "1x4x4", "--expect-output", "9")  # fmt: skip
    assert code == 1 and "output [1] is 8 per sample, expected 9" in out


def test_nested_table_depth_folds_rows_but_not_totals() -> None:
    code, out, _ = run("shapes", f"{MODELS}/outputs.py:ResidualDict", "--input", "3x8x8", "--depth", "1",
                       "--width", "200")  # fmt: skip
    assert code == 0
    assert "layer1" in out and "conv1" not in out
    model = load_target(f"{MODELS}/outputs.py:ResidualDict").model
    assert f"{numel(model):,}" in out and "buffers" in out


# --- symbolic treatment of traceable models --------------------------------------------------------


def test_sequential_factory_gets_symbolic_shapes_and_receptive_fields() -> None:
    code, out, _ = run("shapes", "tests.models.course_net:make_sequential", "--input", "3xHxW", "--width", "200")
    assert code == 0, out
    assert "floor" in out or "⌊" in out
    code, out, _ = run("rf", f"{MODELS}/course_net.py:make_sequential", "--input", "3x28x28", "--width", "200")
    assert code == 0 and "16 " in out and "28 global" in out
    code, out, _ = run("explain", f"{MODELS}/course_net.py:Net", "--input", "3x28x28", "--layer", "fc3")
    assert code == 0 and "(512 + 1)·53 = 27,189" in out


def test_not_traceable_models_say_why() -> None:
    code, out, _ = run("shapes", f"{MODELS}/buggy.py:DeepFailure", "--input", "3x16x16", "--width", "300")
    assert code == 1
    assert ("Symbolic analysis not available: the traced graph cannot work: Conv2d 'stages_0_blocks_2': in_channels "
            "is 3 in the file, but the input has 32") in out  # fmt: skip
    code, out, _ = run("shapes", f"{MODELS}/outputs.py:ResidualDict", "--input", "3x8x8", "--width", "300")
    assert code == 0 and "Symbolic analysis not available: the output is not a single tensor" in out
    code, _, err = run("rf", f"{MODELS}/language.py:TiedLM", "--input", "12", "--input-dtype", "long")
    assert code == 2 and "cannot be analysed symbolically" in err and len(err.strip().splitlines()) == 1


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_random_sequential_rules_equal_torch_hooks(data: st.DataObject) -> None:
    """Random catalogue Sequentials: cnncalc's per-module rules and the traced spec agree with the real run."""
    size = data.draw(st.integers(8, 24))
    channels, layers = 1, []
    for _ in range(data.draw(st.integers(1, 4))):
        k, s, p = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 2)), data.draw(st.integers(0, 1))
        out = data.draw(st.integers(1, 6))
        layers += [nn.Conv2d(channels, out, k, s, p, bias=data.draw(st.booleans())), nn.BatchNorm2d(out), nn.ReLU()]
        if data.draw(st.booleans()):
            layers.append(nn.MaxPool2d(2, ceil_mode=data.draw(st.booleans())))
        channels = out
    model = nn.Sequential(*layers, nn.Flatten())
    try:
        features = model(torch.zeros(1, 1, size, size)).shape[1]
    except RuntimeError:
        return
    model = nn.Sequential(*layers, nn.Flatten(), nn.Linear(features, 3))
    rep = module_report(Target("seq", None, "seq", model), parse_inputs([f"1x{size}x{size}"]), {})
    assert rep.crash is None and not rep.mismatches
    assert rep.counts.params == numel(model)
    assert all(r.derived is not None for r in rep.rows if r.leaf)
    assert rep.fx is not None
    from cnncalc.pipeline import shapes

    assert shapes(rep.fx.spec, verify=False).main.output_shape == (3,)


# --- the YAML side of check, --against ------------------------------------------------------------


def test_check_yaml_and_against() -> None:
    code, out, _ = run("check", "examples/cifar_cnn.yaml", "--sizes", "32,64", "--expect-output", "10")
    assert code == 0 and "shapes verified by torch at H=32, W=32" in out
    spec = f"{MODELS}/course_net.yaml"
    code, out, _ = run("check", f"{MODELS}/course_net.py:Net", "--input", "3x28x28", "--against", spec)
    assert code == 0 and "3 layers with parameters agree" in out


def test_against_a_wrong_spec_points_at_the_yaml_line(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(Path(f"{MODELS}/course_net.yaml").read_text().replace("out_channels: 32", "out_channels: 64"))
    code, out, _ = run("check", f"{MODELS}/course_net.py:Net", "--input", "3x28x28", "--against", str(wrong),
                       "--format", "github")  # fmt: skip
    assert code == 1
    assert (
        "line=9,col=5" in out and "'conv2' in the file and 'conv2' in the model differ: output 64x8x8 vs 32x8x8" in out
    )


def test_max_params() -> None:
    code, out, _ = run("check", f"{MODELS}/course_net.py:Net", "--input", "3x28x28", "--max-params", "40000")
    assert code == 1 and "41,237 parameters, more than --max-params 40,000" in out
    assert numel(Net()) == 41237


# --- bad targets: one line, exit 2 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("tests/models/nope.py:Net", "error: no such file: tests/models/nope.py"),
        ("tests/models/syntax_error.py:Net", "tests/models/syntax_error.py:3:21: error: syntax error"),
        ("tests/models/import_error.py:Net", "tests/models/import_error.py:3:1: error: importing"),
        ("tests/models/bad_targets.py:NeedsArgs", "missing a required argument: 'num_classes'"),
        ("tests/models/bad_targets.py:Broken", "error: Broken(**kwargs) raised ValueError: no weights file"),
        ("tests/models/bad_targets.py:Nedsargs", "did you mean 'NeedsArgs'?"),
        ("tests/models/bad_targets.py:NOT_A_MODEL", "not an nn.Module class or factory"),
        ("tests/models/bad_targets.py:factory_of_nothing", "returned a str, not an nn.Module"),
        ("tests/models/bad_targets.py", "defines 2 nn.Module classes"),
        ("no_such_pkg.mod:Net", "no module named 'no_such_pkg'"),
    ],
)
def test_bad_targets_are_one_line_and_exit_2(target: str, expected: str) -> None:
    for command in ("check", "shapes"):
        code, out, err = run(command, target, "--input", "4")
        assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err + out


def test_kwargs_and_kwargs_file(tmp_path: Path) -> None:
    code, out, _ = run("check", f"{MODELS}/bad_targets.py:NeedsArgs", "--input", "4", "--kwargs", '{"num_classes": 3}',
                       "--expect-output", "3")  # fmt: skip
    assert code == 0, out
    f = tmp_path / "k.json"
    f.write_text('{"num_classes": [}')
    code, _, err = run("check", f"{MODELS}/bad_targets.py:NeedsArgs", "--input", "4", "--kwargs-file", str(f))
    assert code == 2 and f"{f}:1:18: error: --kwargs-file {f} is not valid JSON" in err
    code, _, err = run("check", f"{MODELS}/course_net.py:Net")
    assert code == 2 and "needs its input shape" in err


# --- no side effects ----------------------------------------------------------------------------------


def test_runs_leave_no_hooks_and_restore_modes() -> None:
    model = load_target(f"{MODELS}/outputs.py:ResidualDict").model
    model.train()
    model.layer1[0].eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    target = Target("m", None, "m", model)
    module_report(target, parse_inputs(["3x8x8"]), {})
    check_model(target, CheckOptions(), ["3x8x8"])
    assert [m.training for m in model.modules()] == modes
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks
    after = model.state_dict()
    assert after.keys() == before.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_device_is_restored_after_a_run_elsewhere() -> None:
    from cnncalc.pymodel.trace import preserved

    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    weight = model[0].weight
    with preserved(model, torch, torch.device("meta")):
        assert model[0].weight.device.type == "meta"
    assert model[0].weight is weight and weight.device.type == "cpu"
    assert model[1].running_mean.device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_run_returns_the_model_to_the_cpu() -> None:
    code, out, _ = run("check", f"{MODELS}/course_net.py:Net", "--input", "3x28x28", "--device", "cuda")
    assert code == 0, out
    model = load_target(f"{MODELS}/course_net.py:Net").model
    rep = module_report(Target("n", None, "n", model), parse_inputs(["3x28x28"]), {}, device="cuda")
    assert rep.device.startswith("cuda") and next(model.parameters()).device.type == "cpu"


# --- the pytest helper -----------------------------------------------------------------------------------


def test_assert_shapes() -> None:
    assert_shapes(Net(), input=(3, 28, 28), output=(53,))
    with pytest.raises(AssertionError, match=r"Linear 'fc3' expects 512 input features but receives 800"):
        assert_shapes(FlatNet(), input=(3, 32, 32), output=(53,))
    with pytest.raises(AssertionError, match="samples mix"):
        assert_shapes(BatchMixing(), input=(1, 8, 8))


def test_pre_commit_entry_checks_each_file_and_returns_the_worst_code(tmp_path: Path) -> None:
    from cnncalc.precommit import main as hook

    assert hook(["examples/cifar_cnn.yaml", "examples/lenet5.yaml"]) == 0
    assert hook([f"{MODELS}/course_net.py:FlatNet", "--input", "3x32x32"]) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("cnncalc: 1\ninput: [3, 8, 8]\nlayers:\n  - {type: Conv2d, out_channels: 4, kernel_size: 9}\n")
    assert hook(["examples/cifar_cnn.yaml", str(bad)]) == 2  # a file that cannot work is bad input
    hooks = Path(".pre-commit-hooks.yaml").read_text()
    assert "id: cnncalc-check" in hooks and "entry: cnncalc-check-files" in hooks
