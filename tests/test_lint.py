"""ruff and mypy (strict) run as part of the test suite."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "cmd",
    [
        ["ruff", "check", "cnncalc", "tests", "benchmarks"],
        ["ruff", "format", "--check", "cnncalc", "tests", "benchmarks"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
@pytest.mark.slow
def test_lint(cmd: list[str]) -> None:
    if shutil.which(cmd[0]) is None and not (sys.prefix and shutil.which(cmd[0], path=f"{sys.prefix}/bin")):
        pytest.skip(f"{cmd[0]} is not installed (pip install -e '.[dev]')")
    exe = shutil.which(cmd[0], path=f"{sys.prefix}/bin") or cmd[0]
    result = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
