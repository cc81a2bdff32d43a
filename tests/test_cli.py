"""The command line: formats, exit codes, --set, --no-verify without torch, the JSON schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

from .helpers import arch_text


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_table_shows_verified_rows_and_totals() -> None:
    code, out, _ = run("shapes", "examples/course/a_cifar_conv3.yaml", "--width", "120")
    assert code == 0
    assert "conv1" in out and "2,432" in out and "390,410" in out
    assert "Verified: torch" in out and "all 13 layers agree" in out


def test_json_schema_fields() -> None:
    code, out, _ = run("shapes", "examples/cifar_cnn.yaml", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    for key in (
        "schema",
        "name",
        "input",
        "total_params",
        "trainable_params",
        "non_trainable_params",
        "buffers",
        "verified",
        "conditions",
        "layers",
        "verification",
        "output_shape",
    ):
        assert key in doc
    assert doc["input"] == [3, "H", "W"]
    assert doc["verified"] is True
    assert doc["at_defaults"]["total_params"] == 94_666
    layer = doc["layers"][2]
    for key in ("id", "type", "line", "output_shape", "params", "buffers", "verified"):
        assert key in layer
    assert layer["id"] == "pool1" and layer["output_shape"] == [32, "floor(H/2)", "floor(W/2)"]


def test_json_qualifies_ids_inside_block_uses() -> None:
    code, out, _ = run("shapes", "examples/resnet50.yaml", "--format", "json", "--no-verify")
    assert code == 0
    doc = json.loads(out)
    ids = {layer["id"] for layer in doc["layers"]}
    assert {"layer1", "layer1.first.conv1", "layer2.rest.0.conv3", "layer2.rest"} <= ids
    group = next(layer for layer in doc["layers"] if layer["id"] == "layer1")
    assert group["group"] is True and group["output_shape"] == [256, 56, 56]
    assert doc["verified"] is None


def test_set_substitutes_a_value() -> None:
    code, out, _ = run("shapes", "examples/cifar_cnn.yaml", "--set", "H=64", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["layers"][2]["output_shape"] == [32, 32, "floor(W/2)"]
    assert doc["fixed"] == {"H": 64}


def test_markdown_and_csv() -> None:
    code, out, _ = run("shapes", "examples/lenet5.yaml", "--format", "markdown")
    assert code == 0 and "| c1 | Conv2d | 6×28×28 | 156 | ✓ |" in out
    code, out, _ = run("shapes", "examples/lenet5.yaml", "--format", "csv", "--no-verify")
    assert code == 0 and out.splitlines()[1].startswith("c1,c1,Conv2d,")


def test_failed_expectation_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(
        arch_text(
            [{"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "id": "c", "expect": [8, 32, 32]}], [3, 32, 32]
        )
    )
    code, _, err = run("shapes", str(path))
    assert code == 1
    assert "error: 'c': expected output shape (8, 32, 32), derived (8, 30, 30)" in err


def test_symbolic_expectation_becomes_a_condition(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_text(
        arch_text([{"type": "MaxPool2d", "kernel_size": 2, "expect": [1, "H/2", "H/2"]}], [1, "H", "H"], {"H": 32})
    )
    code, out, _ = run("shapes", str(path), "--format", "json")
    assert code == 0
    assert json.loads(out)["conditions"] == ["H >= 2", "H % 2 == 0"]


def assert_not_imported(module: str, args: list[str]) -> None:
    """Run the CLI in a fresh interpreter and check that ``module`` was never imported."""
    code = (
        f"import sys; from cnncalc.cli import main\ntry:\n    main({args!r})\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        f"assert {module!r} not in sys.modules, '{module} was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_no_verify_does_not_import_torch() -> None:
    assert_not_imported("torch", ["shapes", "examples/resnet18.yaml", "--no-verify", "--format", "json"])


def test_concrete_file_does_not_import_sympy() -> None:
    assert_not_imported("sympy", ["shapes", "examples/resnet50.yaml", "--no-verify", "--format", "json"])


@pytest.mark.slow
def test_meta_device_verifies_shapes() -> None:
    code, out, _ = run("shapes", "examples/resnet18.yaml", "--device", "meta", "--format", "json")
    assert code == 0
    assert json.loads(out)["verification"]["device"] == "meta"


def test_cuda_unavailable_is_a_clean_error() -> None:
    import torch

    if torch.cuda.is_available():
        code, out, _ = run("shapes", "examples/lenet5.yaml", "--device", "cuda", "--format", "json")
        assert code == 0 and json.loads(out)["verification"]["device"].startswith("cuda")
    else:
        code, _, err = run("shapes", "examples/lenet5.yaml", "--device", "cuda")
        assert code == 2
        assert err == "error: --device cuda was asked for, but CUDA is not available; hint: use --device auto or cpu\n"


def test_python_m_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "cnncalc", "--version"], check=True, capture_output=True, text=True)
    import cnncalc

    assert out.stdout.startswith(f"cnncalc {cnncalc.__version__} (verifies with torch ")


def test_layers_command() -> None:
    code, out, _ = run("layers", "Conv2d")
    assert code == 0 and "in_channels: inferred" in out and "C_out · (C_in/g) · prod(k)" in out
    code, _, err = run("layers", "conv2d")
    assert code == 2 and "did you mean 'Conv2d'" in err
    code, out, _ = run("layers", "Conv2D")
    assert code == 0 and "filters: int, required" in out and "torch: Conv2d" in out


@pytest.mark.slow
def test_progress_reports_every_layer_at_every_point() -> None:
    from cnncalc.pipeline import shapes

    calls: list[tuple[int, int]] = []
    report = shapes("examples/unet.yaml", device="cpu", progress=lambda done, total: calls.append((done, total)))
    total = len(report.main.layers) * len(report.checks)
    assert calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_no_progress_bar_when_stderr_is_not_a_terminal() -> None:
    code, _, err = run("shapes", "examples/lenet5.yaml", "--format", "json")
    assert code == 0 and err == ""
