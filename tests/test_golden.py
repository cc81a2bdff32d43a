"""Golden files for what users read: the table, the JSON and the Markdown.

Regenerate after an intended change with ``pytest tests/test_golden.py --update-golden``
and review the diff. The torch version is normalised so the files do not depend on it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

GOLDEN = Path(__file__).parent / "golden"
CASES = [
    ("cifar_cnn.table.txt", ["examples/cifar_cnn.yaml", "--width", "100", "--device", "cpu"]),
    ("cifar_cnn.json", ["examples/cifar_cnn.yaml", "--format", "json", "--device", "cpu"]),
    ("unet.table.txt", ["examples/unet.yaml", "--width", "110", "--device", "cpu"]),
    ("resnet18.markdown.md", ["examples/resnet18.yaml", "--format", "markdown", "--device", "cpu"]),
    ("course_a.table.txt", ["examples/course/a_cifar_conv3.yaml", "--width", "100", "--device", "cpu"]),
]


def normalise(text: str) -> str:
    return re.sub(r"torch \d+\.\d+\.\d+\S*", "torch X", re.sub(r'"torch": "[^"]+"', '"torch": "X"', text))


@pytest.mark.parametrize("name,args", CASES, ids=[c[0] for c in CASES])
def test_golden(name: str, args: list[str], update_golden: bool) -> None:
    result = CliRunner().invoke(main, ["shapes", *args])
    assert result.exit_code == 0, result.stderr
    got = normalise(result.stdout)
    path = GOLDEN / name
    if update_golden:
        path.write_text(got)
    assert got == path.read_text()
