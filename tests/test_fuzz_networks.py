"""Differential fuzzing of whole architecture files over the layer catalogue.

Random chains and graphs (Add, Concat), 1d/2d/3d, concrete or symbolic inputs.
For each file, either cnncalc derives every layer and torch (an independent eager
reference, tests/reference.py) agrees exactly, or both reject it; cnncalc's
rejection must be a clean, located error, and through the CLI exactly one
``FILE:LINE:COL: error:`` line with exit 2.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st

from cnncalc.cli import main

from .helpers import arch_text, both_verdicts, per_dim


@st.composite
def layer(draw: st.DrawFn, n: int) -> dict[str, Any]:
    """One layer for a (C, *spatial) input with n spatial dims."""
    kind = draw(st.sampled_from(["conv", "convt", "maxpool", "avgpool", "lppool", "adaptive", "norm", "act", "drop",
                                 "pad", "up", "group", "pixel"]))  # fmt: skip
    if kind == "conv":
        args: dict[str, Any] = {
            "out_channels": draw(st.integers(1, 6)),
            "kernel_size": draw(per_dim(n, st.integers(1, 4))),
        }
        if draw(st.booleans()):
            args["stride"] = draw(per_dim(n, st.integers(1, 3)))
        if draw(st.booleans()):
            args["padding"] = draw(st.one_of(per_dim(n, st.integers(0, 2)), st.just("same")))
        if draw(st.booleans()):
            args["dilation"] = draw(st.integers(1, 2))
        if draw(st.integers(0, 4)) == 0:
            args["groups"] = 2
        return {"type": f"Conv{n}d", **args}
    if kind == "convt":
        s = draw(st.integers(1, 2))
        return {"type": f"ConvTranspose{n}d", "out_channels": draw(st.integers(1, 4)),
                "kernel_size": draw(st.integers(1, 3)), "stride": s, "padding": draw(st.integers(0, 1)),
                "output_padding": draw(st.integers(0, s - 1))}  # fmt: skip
    if kind in ("maxpool", "avgpool"):
        k = draw(st.integers(1, 3))
        name = "MaxPool" if kind == "maxpool" else "AvgPool"
        return {"type": f"{name}{n}d", "kernel_size": k, "stride": draw(st.integers(1, 3)),
                "padding": draw(st.integers(0, k // 2 + 1)), "ceil_mode": draw(st.booleans())}  # fmt: skip
    if kind == "lppool":
        return {"type": f"LPPool{n}d", "norm_type": 2.0, "kernel_size": draw(st.integers(1, 3))}
    if kind == "adaptive":
        return {
            "type": f"Adaptive{draw(st.sampled_from(['Avg', 'Max']))}Pool{n}d",
            "output_size": draw(st.integers(1, 4)),
        }
    if kind == "norm":
        return {"type": f"{draw(st.sampled_from(['BatchNorm', 'InstanceNorm']))}{n}d",
                "affine": draw(st.booleans())}  # fmt: skip
    if kind == "group":
        return {"type": "GroupNorm", "num_groups": draw(st.integers(1, 3))}
    if kind == "act":
        return {
            "type": draw(st.sampled_from(["ReLU", "GELU", "SiLU", "Tanh", "ELU", "Hardswish", "PReLU", "Identity"]))
        }
    if kind == "drop":
        return {"type": draw(st.sampled_from(["Dropout", f"Dropout{n}d", "AlphaDropout"]))}
    if kind == "pad":
        pad_kind = draw(st.sampled_from(["Zero", "Reflection", "Replication", "Circular", "Constant"]))
        low = -1 if pad_kind == "Zero" else 0
        out = {"type": f"{pad_kind}Pad{n}d", "padding": draw(st.integers(low, 2))}
        if pad_kind == "Constant":
            out["value"] = 0.0
        return out
    if kind == "up":
        return {"type": "Upsample", "scale_factor": draw(st.sampled_from([2, 0.5, 1.5]))}
    if n == 2:
        return {"type": draw(st.sampled_from(["PixelShuffle", "PixelUnshuffle"])),
                **({"upscale_factor": 2} if draw(st.booleans()) else {})}  # fmt: skip
    return {"type": "Identity"}


@st.composite
def network(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[Any], dict[str, int] | None, list[int]]:
    n = draw(st.sampled_from([1, 2, 2, 3]))
    sizes = [draw(st.integers(3, 14 if n < 3 else 7)) for _ in range(n)]
    channels = draw(st.integers(1, 6))
    layers = [draw(layer(n)) for _ in range(draw(st.integers(1, 6)))]
    for j, spec in enumerate(layers):
        if spec["type"] == "PixelShuffle" and "upscale_factor" not in spec:
            spec["upscale_factor"] = 2
        if spec["type"] == "PixelUnshuffle":
            spec.pop("upscale_factor", None)
            spec["downscale_factor"] = 2
        spec["id"] = f"l{j}"
    if draw(st.booleans()) and len(layers) >= 2:
        # A second branch from the input or an earlier layer, merged back in.
        src = draw(st.sampled_from(["input", *[s["id"] for s in layers[:-1]]]))
        merge = draw(st.sampled_from(["Add", "Concat"]))
        branch = {**draw(layer(n)), "from": src, "id": "b"}
        if branch["type"].startswith("Pixel"):
            branch = {"type": "Identity", "from": src, "id": "b"}
        layers += [branch, {"type": merge, "from": [layers[-1]["id"], "b"], "id": "m"}]
    if draw(st.booleans()):
        layers += [
            {"type": "Flatten", "id": "flat"},
            {"type": "Linear", "out_features": draw(st.integers(1, 5)), "id": "fc"},
        ]
    symbolic = draw(st.booleans())
    names = ["D", "H", "W"][3 - n :]
    shape = [channels, *names] if symbolic else [channels, *sizes]
    symbols = dict(zip(names, sizes, strict=True)) if symbolic else None
    return layers, shape, symbols, [channels, *sizes]


@pytest.mark.slow
@given(network())
@example(([{"type": "MaxPool1d", "kernel_size": 1, "stride": 2, "id": "a"},
           {"type": "Upsample", "scale_factor": 3, "id": "b0"},
           {"type": "ZeroPad1d", "padding": [0, 1], "from": "input", "id": "b"},
           {"type": "Add", "from": ["b0", "b"], "id": "m"}], [2, "L"], {"L": 4}, [2, 4]))  # fmt: skip
@example(([{"type": "ZeroPad1d", "padding": [2, -2], "id": "p"}], [2, 1], None, [2, 1]))
@example(([{"type": "Dropout3d", "id": "d"}], [1, 1, 1], None, [1, 1, 1]))
@example(([{"type": "Conv2d", "out_channels": 1, "kernel_size": [5, 4], "padding": "same", "id": "c"}], [1, 6, 9],
          None, [1, 6, 9]))  # fmt: skip
def test_random_networks_agree_with_torch(
    case: tuple[list[dict[str, Any]], list[Any], dict[str, int] | None, list[int]],
) -> None:
    layers, shape, symbols, concrete_shape = case
    text = arch_text(layers, shape, symbols)
    report, expected = both_verdicts(layers, shape, symbols, concrete_shape)
    if report is None:
        return
    assert report.ok, [m.message() for m in report.mismatches]
    derived = [(r.shape, r.params, r.buffers) for r in report.defaults.layers]
    assert derived == expected, text


@pytest.mark.slow
@given(network())
def test_cli_gives_located_lines_or_a_table(
    case: tuple[list[dict[str, Any]], list[Any], dict[str, int] | None, list[int]],
) -> None:
    layers, shape, symbols, _ = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "net.yaml"
        path.write_text(arch_text(layers, shape, symbols))
        result = CliRunner().invoke(main, ["shapes", str(path), "--no-verify", "--format", "json"])
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        lines = result.stderr.splitlines()  # one per independent error, each located, in file order
        assert 1 <= len(lines) <= 21, result.stderr
        assert all(line.startswith(f"{path}:") and ": error: " in line for line in lines), result.stderr
        where = [tuple(map(int, line.removeprefix(f"{path}:").split(":")[:2])) for line in lines]
        assert where == sorted(where) and len(set(lines)) == len(lines), result.stderr
        assert "Traceback" not in result.stderr
