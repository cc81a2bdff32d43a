"""cnncalc.summary / cnncalc.check on live models, against torchinfo and torch; the model is left untouched.

Every model here is defined inside its test function (as in a notebook), never imported from a file.
Each torchinfo call form cnncalc supports is called on both libraries with the same model, and total
parameters, trainable parameters and output shapes are compared.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import cnncalc
from cnncalc.cli import main

torchinfo = pytest.importorskip("torchinfo")


def theirs(model: nn.Module, **kwargs: Any) -> Any:
    return torchinfo.summary(model, verbose=0, **kwargs)


def assert_same(ours: cnncalc.Summary, stats: Any, model: nn.Module, per_sample: bool = False) -> None:
    """Totals, trainable and the model's output shape agree with torchinfo (and with torch itself)."""
    assert ours.total_params == stats.total_params == sum(p.numel() for p in model.parameters())
    assert ours.trainable_params == stats.trainable_params
    assert ours.non_trainable_params == stats.total_params - stats.trainable_params
    got, want = list(ours.output_shapes[0]), list(stats.summary_list[0].output_size)
    assert got[1:] == want[1:] if per_sample else got == want


def course_net() -> nn.Module:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 5)
            self.pool1 = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(16, 32, 5)
            self.pool2 = nn.MaxPool2d(2)
            self.fc3 = nn.Linear(512, 53)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.pool1(F.relu(self.conv1(x)))
            x = self.pool2(F.relu(self.conv2(x)))
            x = x.view(-1, 512)
            return self.fc3(x)

    return Net()


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """The numbers of a modules document (names of the target and source lines aside)."""
    mods = [{k: v for k, v in m.items() if k not in ("called_from", "built_at")} for m in doc["modules"]]
    return {"modules": mods, "totals": doc["totals"], "outputs": doc["outputs"], "symbolic": doc["symbolic"],
            "inputs": doc["inputs"]}  # fmt: skip


# --- torchinfo's call forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1, 3, 28, 28), [1, 3, 28, 28], torch.Size([4, 3, 28, 28])])
def test_input_size_with_the_batch_first(size: Any) -> None:
    model = course_net()
    model.conv1.requires_grad_(False)  # frozen: trainable differs from total
    ours = cnncalc.summary(model, size, verbose=0)
    assert_same(ours, theirs(model, input_size=size), model)
    assert ours.output_shapes == [(size[0], 53)] and ours.report.batch == size[0]
    assert ours.non_trainable_params == 16 * 3 * 25 + 16


def test_input_size_keyword_and_positional_are_the_same() -> None:
    model = course_net()
    a = cnncalc.summary(model, input_size=(1, 3, 28, 28), verbose=0)
    b = cnncalc.summary(model, (1, 3, 28, 28), verbose=0)
    assert comparable(a.to_dict()) == comparable(b.to_dict())


def two_inputs() -> nn.Module:
    class TwoInputs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(10, 8)
            self.b = nn.Linear(20, 8)
            self.head = nn.Sequential(nn.ReLU(), nn.Linear(8, 3))

        def forward(self, x: torch.Tensor, y: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
            return self.head(self.a(x) + self.b(y)) * scale

    return TwoInputs()


def test_a_list_of_sizes_for_several_inputs() -> None:
    model = two_inputs()
    ours = cnncalc.summary(model, [(2, 10), (2, 20)], verbose=0)
    assert_same(ours, theirs(model, input_size=[(2, 10), (2, 20)]), model)
    assert ours.output_shapes == [(2, 3)]


def test_input_data_as_a_tensor_a_list_and_a_dict() -> None:
    model = two_inputs()
    x, y = torch.randn(5, 10), torch.randn(5, 20)
    for data in ([x, y], (x, y), {"x": x, "y": y}, [x, y, 2.0]):
        ours = cnncalc.summary(model, input_data=data, verbose=0)
        assert_same(ours, theirs(model, input_data=data), model)
        assert ours.output_shapes == [(5, 3)]
    conv = course_net()
    t = torch.randn(3, 3, 28, 28)
    ours = cnncalc.summary(conv, input_data=t, verbose=0)
    assert_same(ours, theirs(conv, input_data=t), conv)
    assert ours.report.batch == 3


def test_depth_shows_the_rows_torchinfo_shows_and_totals_count_everything() -> None:
    model = nn.Sequential(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Sequential(nn.BatchNorm2d(8), nn.ReLU())),
                          nn.Flatten(), nn.Linear(8 * 6 * 6, 4))  # fmt: skip
    for depth in (0, 1, 2, 3):
        ours = cnncalc.summary(model, (1, 3, 8, 8), depth=depth, verbose=0)
        stats = theirs(model, input_size=(1, 3, 8, 8), depth=depth)
        assert_same(ours, stats, model)
        shown = [r for r in ours.layers if r.depth <= depth]
        assert [r.type for r in shown] == [x.class_name for x in stats.summary_list if x.depth <= depth]
        text = str(ours)
        assert ("BatchNorm2d" in text) == (depth >= 3) and ("Flatten" in text) == (depth >= 1)
        assert f"{ours.total_params:,}" in text  # the total counts what is folded away


@pytest.mark.parametrize("device", ["cpu", torch.device("cpu")])
def test_device(device: Any) -> None:
    model = course_net()
    ours = cnncalc.summary(model, (1, 3, 28, 28), device=device, verbose=0)
    assert_same(ours, theirs(model, input_size=(1, 3, 28, 28), device=device), model)
    assert ours.report.device == "cpu"


@pytest.mark.slow
def test_device_is_moved_back() -> None:
    """The meta device stands in for a GPU here: the model runs there and comes back, tensors and all."""
    model = course_net()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ours = cnncalc.summary(model, (2, 3, 28, 28), device="meta", verbose=0)
    assert ours.report.device == "meta" and ours.output_shapes == [(2, 53)]
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_dtypes_for_token_ids() -> None:
    class Tagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.rnn = nn.GRU(16, 8, batch_first=True)
            self.out = nn.Linear(8, 5)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return self.out(self.rnn(self.emb(ids))[0])

    model = Tagger()
    ours = cnncalc.summary(model, (2, 12), dtypes=[torch.long], verbose=0)
    assert_same(ours, theirs(model, input_size=(2, 12), dtypes=[torch.long]), model)
    assert ours.output_shapes == [(2, 12, 5)] and ours.report.inputs[0].dtype == "long"


def test_batch_dim_0_is_torchinfos_per_sample_form() -> None:
    model = course_net()
    ours = cnncalc.summary(model, (3, 28, 28), batch_dim=0, verbose=0)
    assert_same(ours, theirs(model, input_size=(3, 28, 28), batch_dim=0), model, per_sample=True)
    assert (
        ours.output_shapes == [(1, 53)] == [tuple(model.eval()(torch.zeros(1, 3, 28, 28)).shape)]
    )  # torchinfo's batch of 1


def test_per_sample_text_is_the_command_lines_notation() -> None:
    model = course_net()
    a = cnncalc.summary(model, "3x28x28", verbose=0)
    b = cnncalc.summary(model, (2, 3, 28, 28), verbose=0)
    assert comparable(a.to_dict()) == comparable(b.to_dict())


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.integers(1, 3), st.booleans(), st.booleans()), min_size=1, max_size=3),
       st.integers(1, 3), st.integers(6, 12))  # fmt: skip
def test_random_cnns_agree_with_torchinfo_and_torch(layers: list[tuple[int, int, bool, bool]], batch: int,
                                                    size: int) -> None:  # fmt: skip
    mods: list[nn.Module] = []
    channels = 3
    for out, k, bn, frozen in layers:
        conv = nn.Conv2d(channels, out, k, padding=k // 2)
        conv.requires_grad_(not frozen)
        mods += [conv, nn.BatchNorm2d(out), nn.ReLU()] if bn else [conv, nn.ReLU()]
        channels = out
    model = nn.Sequential(*mods, nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(channels * 4, 3))
    ours = cnncalc.summary(model, (batch, 3, size, size), verbose=0)
    assert_same(ours, theirs(model, input_size=(batch, 3, size, size)), model)
    assert ours.trainable_params == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert ours.buffers == sum(b.numel() for b in model.buffers())
    assert ours.output_shapes == [tuple(model.eval()(torch.zeros(batch, 3, size, size)).shape)]
    assert ours.verified is True


# --- the ambiguous case is refused -----------------------------------------------------------------------------


def test_a_size_without_its_batch_is_refused_with_the_forms_to_write() -> None:
    model = course_net()
    with pytest.raises(cnncalc.CnnCalcError) as e:
        cnncalc.summary(model, (3, 28, 28), verbose=0)
    text = str(e.value)
    assert "input_size=(3, 28, 28) has no batch dimension" in text and "Conv2d 'conv1'" in text
    assert "(1, 3, 28, 28)" in text and "batch_dim=0" in text and "'3x28x28'" in text
    with pytest.raises(cnncalc.CnnCalcError, match="no batch dimension"):
        cnncalc.check(model, (3, 28, 28))
    with pytest.raises(cnncalc.CnnCalcError, match="one dimension too many"):
        cnncalc.summary(model, (1, 3, 28, 28), batch_dim=0, verbose=0)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"input_size": (1, 3, 28, 28), "input_data": torch.zeros(1, 3, 28, 28)}, "not both"),
    ({"input_size": (1, 3, 0, 28)}, "0 is not a size"),
    ({"input_size": (1, 3, "H W", 28)}, "not a symbol name"),
    ({"input_size": (1, 3, 28, 28), "batch_dim": 5}, "batch_dim=5 is outside a size of 4 dims"),
    ({"input_size": (1, 3, 28, 28), "dtypes": [torch.complex64]}, "complex64 is not supported"),
    ({"input_size": (1, 3, 28, 28), "col_names": ["output_shape"]}, "did you mean 'output_size'?"),
    ({"input_size": (1, 3, 28, 28), "mode": "training"}, "mode='training'"),
    ({"input_size": (1, 3, 28, 28), "dtypes": [torch.float, torch.float]}, "2 dtypes for 1 inputs"),
    ({"input_data": "x"}, "input_data is a str"),
])  # fmt: skip
def test_bad_arguments_are_one_clear_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(cnncalc.CnnCalcError, match=re.escape(message)):
        cnncalc.summary(course_net(), verbose=0, **kwargs)
    with pytest.raises(cnncalc.CnnCalcError, match=r"not an nn\.Module"):
        cnncalc.summary(object(), (1, 3), verbose=0)


# --- symbolic live models --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_symbolic_size_gives_formulas_receptive_fields_and_accepted_sizes() -> None:
    model = course_net()
    H, W = cnncalc.symbols("H W")
    a = cnncalc.summary(model, (3, "H", "W"), verbose=0)
    b = cnncalc.summary(model, (3, H, W), verbose=0)
    assert a.symbolic and a.to_dict() == b.to_dict()
    assert (
        a.accepted is not None
        and a.accepted.startswith("H and W tied")
        and "H in 28..31 with W in 28..31" in a.accepted
        and "H >= 16" in a.conditions
    )
    assert a.verified is True and a.to_dict()["verified"] is True
    conv2 = next(r for r in a.layers if r.name == "conv2")
    assert str(conv2.output_shape) == "('B', 32, floor(H/2) - 6, floor(W/2) - 6)" and conv2.receptive_field == "14×14"
    for size in (28, 29, 31):  # torch agrees with the accepted sizes
        assert model(torch.zeros(2, 3, size, size)).shape == (2, 53)
    with pytest.raises(RuntimeError):
        model(torch.zeros(2, 3, 32, 32))
    text = str(a)
    assert "⌊H/2⌋ − 6" in text and "Valid when" in text and "Verified" in text
    assert cnncalc.symbols("H") == "H" and cnncalc.symbols("H, W") == ("H", "W")


def test_a_symbolic_size_with_a_batch_is_explained() -> None:
    with pytest.raises(cnncalc.CnnCalcError, match="per sample: leave the batch out"):
        cnncalc.summary(course_net(), (1, 3, "H", "W"), verbose=0)


def test_untraceable_model_with_symbols_says_why() -> None:
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) if x.sum() > 0 else x

    with pytest.raises(cnncalc.CnnCalcError, match="cannot be analysed symbolically"):
        cnncalc.summary(Branchy(), (3, "H", "W"), verbose=0)
    assert cnncalc.summary(Branchy(), (1, 3, 8, 8), verbose=0).total_params == 3 * 4 * 9 + 4


# --- the same numbers as the command line ---------------------------------------------------------------------


def cli_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["shapes", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_api_gives_the_cli_numbers_on_the_same_model() -> None:
    from tests.models.course_net import Net

    cli = cli_json("tests/models/course_net.py:Net", "--input", "3x28x28")
    api = cnncalc.summary(Net(), (2, 3, 28, 28), verbose=0).to_dict()
    assert comparable(api) == comparable(cli) and api["schema"] == cli["schema"]
    cli_sym = cli_json("tests/models/course_net.py:Net", "--input", "3xHxW")
    api_sym = cnncalc.summary(Net(), (3, "H", "W"), verbose=0).to_dict()
    drop = ("name", "file")
    assert {k: v for k, v in api_sym.items() if k not in drop} == {k: v for k, v in cli_sym.items() if k not in drop}


# --- display ---------------------------------------------------------------------------------------------------


def test_str_rich_and_html_show_the_same_table() -> None:
    from rich.console import Console

    model = course_net()
    s = cnncalc.summary(model, (1, 3, 28, 28), verbose=0)
    text = str(s)
    assert repr(s) == text and "41,237" in text and "Every shape and count is torch's own" in text
    assert all("…" not in line for line in text.splitlines())  # nothing is cut
    console = Console(record=True, width=200, color_system=None)
    console.print(s)
    assert "41,237" in console.export_text()
    html = s._repr_html_()
    table, _ = s._parts()
    headers = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", html)
    assert headers == [str(c.header) for c in table.columns]
    steps = len(s.report.steps)  # the functional steps (x.view(-1, 512)) have rows too
    assert html.count("<tr>") == len(s.layers) + steps + 2  # header + rows + footer (depth 3 shows all here)
    assert "<tfoot><tr><td>Total</td>" in html and "41,237" in html.split("<tfoot>")[1]
    assert '<span class="ok">✓</span>' in html and "torch&#x27;s own" in html
    sym = cnncalc.summary(model, (3, "H", "W"), verbose=0)._repr_html_()
    assert "⌊H/2⌋ − 6" in sym and "Verified: torch" in sym and "Valid when" in sym


@pytest.mark.slow
def test_summary_prints_in_a_script_as_torchinfo_does() -> None:
    code = ("import torch, cnncalc\nfrom torch import nn\n"
            "cnncalc.summary(nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten()), (1, 3, 8, 8))\n")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "Conv2d" in out and "224" in out and "Total params: 224" in out


def test_importing_cnncalc_loads_no_torch_sympy_or_rich() -> None:
    code = ("import sys, cnncalc\nH, W = cnncalc.symbols('H W')\nassert cnncalc.summary and cnncalc.check\n"
            "bad = [m for m in ('torch', 'sympy', 'rich') if m in sys.modules]\nassert not bad, bad\n")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)


# --- check -----------------------------------------------------------------------------------------------------


def test_check_returns_findings_and_raises_only_when_asked() -> None:
    model = course_net()
    r = cnncalc.check(model, (3, "H", "W"), sizes=(28, 32), expect_output=(53,))
    assert not r.ok and [f.name for f in r.failures] == ["forward pass"]
    crash = r.failures[0]
    assert crash.loc is not None and crash.loc.file.endswith("test_api.py")
    assert "x = x.view(-1, 512)" in open(__file__).read().splitlines()[crash.loc.line - 1]
    assert "each sample has 800 = 32x5x5" in crash.message and "H in 28..31 with W in 28..31" in crash.message
    assert "✗ forward pass at input 3x32x32" in str(r) and json.loads(r.to_json())["failed"] == 1
    with pytest.raises(cnncalc.CheckFailed, match="view/reshape to \\[-1, 512\\]") as e:
        cnncalc.check(model, (3, "H", "W"), sizes=(28, 32), raise_on_failure=True)
    assert isinstance(e.value, AssertionError) and not e.value.result.ok
    ok = cnncalc.check(model, (1, 3, 28, 28), expect_output=53, max_params=50_000, raise_on_failure=True)
    assert ok.ok and {f.name for f in ok.findings} >= {"forward pass", "batch size", "sample independence",
                                                       "output shape", "parameter budget"}  # fmt: skip
    assert '<span class="ok">✓</span> batch size' in ok._repr_html_()


def test_check_finds_batch_folding_and_sample_mixing() -> None:
    class Folds(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 8, 3, padding=1)
            self.fc = nn.Linear(256, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.conv(x).view(-1, 256))  # 8x8x8 = 512 per sample: two rows each

    class Mixes(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x - x.mean(0))

    folds = cnncalc.check(Folds(), (1, 1, 8, 8))
    bad = [f for f in folds.failures if f.name == "batch size"]
    assert bad and "Tensor.view" in bad[0].message and bad[0].loc is not None
    mixes = cnncalc.check(Mixes(), "1x8x8")
    assert [f.name for f in mixes.failures] == ["sample independence"]


def test_assert_shapes_is_built_on_check() -> None:
    from cnncalc.testing import assert_shapes

    model = course_net()
    assert_shapes(model, input=(3, 28, 28), output=(53,))
    with pytest.raises(cnncalc.CheckFailed, match="output shape at input 3x28x28"):
        assert_shapes(model, input=(3, 28, 28), output=(10,))


# --- the model is left exactly as it was -----------------------------------------------------------------------


def snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        "tensors": {k: (id(v), v.device, v.dtype, v.requires_grad, v.detach().clone())
                    for k, v in model.state_dict(keep_vars=True).items()},
        "grads": {k: None if p.grad is None else p.grad.clone() for k, p in model.named_parameters()},
        "modes": [m.training for m in model.modules()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()],
        "global hooks": (len(nn.modules.module._global_forward_hooks),
                         len(nn.modules.module._global_forward_pre_hooks)),
        "rng": torch.get_rng_state(),
        "attributes": [sorted(vars(m)) for m in model.modules()],
    }  # fmt: skip


def assert_same_snapshot(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["tensors"].keys() == b["tensors"].keys()
    for k, (ident, dev, dtype, grad, value) in a["tensors"].items():
        ident2, dev2, dtype2, grad2, value2 = b["tensors"][k]
        assert (ident, dev, dtype, grad) == (ident2, dev2, dtype2, grad2), k
        assert torch.equal(value, value2), k  # BatchNorm running statistics included
    for k, g in a["grads"].items():
        assert (g is None) == (b["grads"][k] is None) and (g is None or torch.equal(g, b["grads"][k])), k
    for key in ("modes", "hooks", "global hooks", "attributes"):
        assert a[key] == b[key], key
    assert torch.equal(a["rng"], b["rng"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_model_is_left_exactly_as_it_was(dtype: torch.dtype) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5))
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(8 * 6 * 6, 4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.features(x))

    model = Net().to(dtype)
    model.train()
    model.head.eval()  # mixed modes stay mixed
    model.features[0].weight.requires_grad_(False)
    model(torch.randn(4, 3, 8, 8, dtype=dtype)).sum().backward()  # grads and moved running statistics
    data = torch.randn(2, 3, 8, 8, dtype=dtype)
    before = snapshot(model)
    cnncalc.summary(model, (2, 3, 8, 8), verbose=0)
    cnncalc.summary(model, (3, "H", "W"), verbose=0)
    cnncalc.summary(model, input_data=data, verbose=0)
    cnncalc.summary(model, (2, 3, 8, 8), device="meta", verbose=0)
    cnncalc.check(model, (3, "H", "W"), sizes=(8, 5), expect_output=(4,))
    cnncalc.check(model, (2, 3, 8, 8))
    with pytest.raises(cnncalc.CnnCalcError):
        cnncalc.summary(model, (3, 8, 8), verbose=0)
    assert_same_snapshot(before, snapshot(model))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_models_stay_on_their_device_and_a_moved_one_comes_back_with_its_grads() -> None:
    model = course_net().cuda()
    model(torch.randn(4, 3, 28, 28, device="cuda")).sum().backward()
    before = snapshot(model)
    s = cnncalc.summary(model, (2, 3, 28, 28), verbose=0)
    assert s.report.device.startswith("cuda") and s.output_shapes == [(2, 53)]
    r = cnncalc.check(model, (3, "H", "W"), sizes=(28, 32), expect_output=(53,))
    assert [f.name for f in r.failures] == ["forward pass"]
    assert_same_snapshot(before, snapshot(model))
    cpu = course_net()
    cpu(torch.randn(4, 3, 28, 28)).sum().backward()
    before = snapshot(cpu)
    assert cnncalc.summary(cpu, (2, 3, 28, 28), device="cuda", verbose=0).report.device.startswith("cuda")
    assert cnncalc.check(cpu, (1, 3, 28, 28), device="cuda", expect_output=53).ok
    assert_same_snapshot(before, snapshot(cpu))  # Module.to moved the grads too: they are moved back
