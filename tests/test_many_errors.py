"""Every error of a file at once (issue 13.5): each its own located line, in file order, like a compiler.

Independent errors (structure, values, shapes on other branches) are all reported in one run; an
error that makes later ones meaningless (a shape downstream of an unknown layer type) hides them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import main
from cnncalc.errors import CnnCalcError, CnnCalcErrors
from cnncalc.pipeline import shapes


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return str(path)


FOUR_TYPOS = """cnncalc: 1
input: [3, 32, 32]
layers:
  - {type: Conv2d, out_channel: 16, kernel_size: 3}
  - {type: Conv2d, out_channels: 16, kernel_size: 3.5}
  - {type: conv2d, out_channels: 8, kernel_size: 3}
  - {type: MaxPool2d, kernel_size: 2, strides: 2}
  - {type: Linear, in_features: 99, out_features: 10}
"""


def test_four_typos_take_one_run(tmp_path: Path) -> None:
    path = write(tmp_path, FOUR_TYPOS)
    code, out, err = run("shapes", path, "--no-verify")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{path}:4:20: error: unknown argument 'out_channel' for Conv2d; hint: did you mean 'out_channels' or "
        "'in_channels'?",
        f"{path}:5:51: error: kernel_size must be an integer, found the number 3.5; hint: sizes and counts are whole "
        "numbers",
        f"{path}:6:12: error: unknown layer type 'conv2d'; hint: did you mean 'Conv2d' or 'Conv3d' or 'Conv2D'?",
        f"{path}:7:39: error: unknown argument 'strides' for MaxPool2d; hint: did you mean 'stride'?",
    ]  # the Linear's in_features is downstream of broken layers: no shape error about it


def test_independent_branches_each_report_their_shape_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """cnncalc: 1
input: [3, 32, 32]
layers:
  - {type: Conv2d, in_channels: 4, out_channels: 8, kernel_size: 3, padding: 1, id: a}
  - {type: Conv2d, in_channels: 5, out_channels: 8, kernel_size: 3, padding: 1, from: input, id: b}
  - {type: Add, from: [a, b]}
  - {type: Conv2d, out_channels: 8, kernel_size: 40, id: big}
  - {type: Linear, in_features: 7, out_features: 2}
""",
    )
    code, _, err = run("shapes", path, "--no-verify")
    lines = err.splitlines()
    assert code == 2 and [line.split(": error: ")[0] for line in lines] == [
        f"{path}:4:33",
        f"{path}:5:33",
        f"{path}:7:5",
    ]
    assert "Conv2d 'a': in_channels is 4 in the file, but the input has 3" in lines[0]
    assert "Conv2d 'b': in_channels is 5 in the file" in lines[1]
    assert "kernel is larger than the padded input" in lines[2]  # the Linear after it is not analysed


def test_a_shape_error_downstream_of_an_unknown_type_is_not_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """cnncalc: 1
input: [3, 8, 8]
layers:
  - {type: Conv2d, out_channels: 4, kernel_size: 3}
  - {type: Conv2dd, out_channels: 4, kernel_size: 3}
  - {type: Conv2d, out_channels: 4, kernel_size: 99}
""",
    )
    code, _, err = run("shapes", path, "--no-verify")
    assert code == 2 and len(err.splitlines()) == 1 and "unknown layer type 'Conv2dd'" in err


def test_errors_in_blocks_symbols_and_top_level_keys_together(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """cnncalc: 1
nmae: x
input: [3, H, W]
symbols: {H: 0, W: 32}
blocks:
  B:
    params: {c: required}
    layers:
      - {type: Conv2d, out_channels: c, kernel_size: 3, paddin: 1}
layers:
  - {type: B, c: 8}
  - {type: ReLU, inplace: maybe}
  - {type: B, c: 8, d: 2}
""",
    )
    code, _, err = run("shapes", path, "--no-verify")
    lines = err.splitlines()
    assert code == 2
    assert [line.split(": error: ")[0].removeprefix(path + ":") for line in lines] == ["2:1", "4:14", "9:57", "12:27",
                                                                                      "13:21"]  # fmt: skip
    assert "unknown top-level key 'nmae'" in lines[0] and "symbol 'H' must be a positive integer" in lines[1]
    assert "unknown argument 'paddin' for Conv2d" in lines[2] and "inplace must be true or false" in lines[3]
    assert "unknown argument 'd' for B" in lines[4]


def test_at_most_twenty_then_how_many_more(tmp_path: Path) -> None:
    layers = "".join(f"  - {{type: ReLU, inplac: {i}}}\n" for i in range(25))
    path = write(tmp_path, f"cnncalc: 1\ninput: [3, 8, 8]\nlayers:\n{layers}")
    code, _, err = run("shapes", path, "--no-verify")
    lines = err.splitlines()
    assert code == 2 and len(lines) == 21
    assert all(f"{path}:{4 + i}:" in lines[i] for i in range(20))
    assert lines[20] == "error: 5 more errors not shown (fix these first)"


def test_the_library_keeps_the_single_error_api(tmp_path: Path) -> None:
    with pytest.raises(CnnCalcErrors) as many:
        shapes(write(tmp_path, FOUR_TYPOS), verify=False)
    assert len(many.value.errors) == 4
    assert many.value.loc is not None and many.value.loc.line == 4 and "out_channel" in many.value.message
    one = "cnncalc: 1\ninput: [3, 8, 8]\nlayers:\n  - {type: Conv2d, out_channels: 4, kernel_size: 99}\n"
    with pytest.raises(CnnCalcError) as single:
        shapes(write(tmp_path, one), verify=False)
    assert type(single.value) is CnnCalcError and "kernel is larger" in single.value.message


def test_every_command_reports_them_all(tmp_path: Path) -> None:
    path = write(tmp_path, FOUR_TYPOS)
    for command in (
        ["rf", path, "--no-verify"],
        ["explain", path, "--no-verify"],
        ["shapes", path, "--format", "json"],
    ):
        code, out, err = run(*command)
        assert code == 2 and out == "" and len(err.splitlines()) == 4, command
