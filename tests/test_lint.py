"""ruff and mypy (strict) run as part of the test suite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
    if not (ROOT / "cnncalc" / "__init__.py").is_file():  # .ci/run tests the installed wheel from a copy of tests/
        pytest.skip("lint reads the source tree, which is not here (.ci/run lints in the repository)")
    if shutil.which(cmd[0]) is None and not (sys.prefix and shutil.which(cmd[0], path=f"{sys.prefix}/bin")):
        pytest.skip(f"{cmd[0]} is not installed (pip install -e '.[dev]')")
    exe = shutil.which(cmd[0], path=f"{sys.prefix}/bin") or cmd[0]
    result = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
