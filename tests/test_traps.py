"""The traps of ../shared/reference/conv-arithmetic.md, each derived and verified with torch.

The expected values are the reference's documented torch behaviour; every case
also runs a real forward pass, so torch itself confirms them.
"""

from __future__ import annotations

from typing import Any

import pytest

from cnncalc.errors import CnnCalcError
from cnncalc.pipeline import load, shapes

from .helpers import arch_text


def verified(layers: list[Any], input_shape: list[Any], symbols: dict[str, Any] | None = None) -> Any:
    report = shapes(load("trap.yaml", arch_text(layers, input_shape, symbols)), device="cpu")
    assert report.verified, report.mismatches
    return report


def test_1_ceil_mode_pool_drops_window_starting_in_padding() -> None:
    r = verified([{"type": "MaxPool1d", "kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}], [1, 5])
    assert r.main.output_shape == (1, 3)  # naive ceil((5 + 2 - 2)/2) + 1 says 4


def test_1b_ceil_mode_applies_without_padding() -> None:
    r = verified([{"type": "MaxPool1d", "kernel_size": 1, "stride": 3, "ceil_mode": True}], [1, 5])
    assert r.main.output_shape == (1, 2)


def test_2_same_padding_with_even_kernel_keeps_size() -> None:
    r = verified([{"type": "Conv1d", "out_channels": 2, "kernel_size": 4, "padding": "same"}], [1, 9])
    assert r.main.output_shape == (2, 9)


def test_2b_same_padding_with_stride_is_an_error() -> None:
    with pytest.raises(CnnCalcError, match="padding='same' is not supported for strided convolutions"):
        shapes(
            load(
                "t.yaml",
                arch_text(
                    [{"type": "Conv1d", "out_channels": 2, "kernel_size": 4, "stride": 2, "padding": "same"}], [1, 9]
                ),
            ),
            verify=False,
        )


@pytest.mark.parametrize("output_padding,size", [(0, 11), (1, 12)])
def test_3_conv_transpose_output_padding(output_padding: int, size: int) -> None:
    r = verified(
        [
            {
                "type": "ConvTranspose2d",
                "out_channels": 1,
                "kernel_size": 3,
                "stride": 2,
                "padding": 1,
                "output_padding": output_padding,
            }
        ],
        [1, 6, 6],
    )
    assert r.main.output_shape == (1, size, size)


def test_3b_conv_transpose_output_padding_too_large() -> None:
    with pytest.raises(CnnCalcError, match="output_padding 2 must be smaller than either stride 2 or dilation 1"):
        shapes(
            load(
                "t.yaml",
                arch_text(
                    [
                        {
                            "type": "ConvTranspose2d",
                            "out_channels": 1,
                            "kernel_size": 3,
                            "stride": 2,
                            "padding": 1,
                            "output_padding": 2,
                        }
                    ],
                    [1, 6, 6],
                ),
            ),
            verify=False,
        )


def test_5_pool_padding_more_than_half_kernel() -> None:
    with pytest.raises(CnnCalcError, match="padding 2 is more than half of kernel_size 2"):
        shapes(
            load("t.yaml", arch_text([{"type": "MaxPool2d", "kernel_size": 2, "padding": 2}], [1, 8, 8])), verify=False
        )


def test_6_upsample_float_scale_truncates() -> None:
    r = verified([{"type": "Upsample", "scale_factor": 15 / 11}], [1, 11])
    assert r.main.output_shape == (1, 14)


def test_7_batchnorm_params_and_buffers() -> None:
    r = verified([{"type": "BatchNorm2d"}], [64, 4, 4])
    assert (r.main.total_params, r.main.total_buffers) == (128, 129)


def test_10_adaptive_pool_size_is_what_is_asked() -> None:
    r = verified([{"type": "AdaptiveAvgPool1d", "output_size": 3}], [1, 10])
    assert r.main.output_shape == (1, 3)


def test_avgpool3d_needs_unpadded_input_at_least_kernel() -> None:
    with pytest.raises(CnnCalcError, match="input depth 5 is smaller than kernel_size 7"):
        shapes(
            load("t.yaml", arch_text([{"type": "AvgPool3d", "kernel_size": 7, "padding": 3}], [1, 5, 5, 5])),
            verify=False,
        )
    r = verified([{"type": "AvgPool2d", "kernel_size": 7, "padding": 3}], [1, 5, 5])  # 2-d does not need it
    assert r.main.output_shape == (1, 1, 1)


def test_reflect_padding_must_be_less_than_input() -> None:
    with pytest.raises(CnnCalcError, match="reflect padding 5 must be less than the input length 5"):
        shapes(
            load(
                "t.yaml",
                arch_text(
                    [{"type": "Conv1d", "out_channels": 1, "kernel_size": 3, "padding": 5, "padding_mode": "reflect"}],
                    [1, 5],
                ),
            ),
            verify=False,
        )
    r = verified(
        [{"type": "Conv1d", "out_channels": 1, "kernel_size": 3, "padding": 5, "padding_mode": "circular"}], [1, 5]
    )
    assert r.main.output_shape == (1, 13)


def test_conv_parameter_count_includes_input_channels() -> None:
    # The homework slip: 32 x (5x5 + 1) = 832 forgets the 3 input channels; the right answer is 32 x (5x5x3 + 1).
    r = verified([{"type": "Conv2d", "out_channels": 32, "kernel_size": 5, "padding": 2}], [3, 32, 32])
    assert r.main.total_params == 2432
    assert r.main.output_shape == (32, 32, 32)


def test_symbolic_stride_chain_is_one_floor() -> None:
    r = verified([{"type": "MaxPool2d", "kernel_size": 2}] * 3, [1, "H", "H"], {"H": 64})
    assert str(r.main.output_shape[1]) == "floor(H/8)"
    assert r.conditions == ["H >= 8"]
