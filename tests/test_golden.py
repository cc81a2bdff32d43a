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
    # Tables fold, never cut a number or a name: at 60, 80 and 120 columns, and in a pipe (the width they need).
    *((f"vgg16.w{w}.txt", ["examples/vgg16.yaml", "--no-verify", "--width", str(w)]) for w in (60, 80, 120)),
    *((f"unet.w{w}.txt", ["examples/unet.yaml", "--no-verify", "--width", str(w)]) for w in (60, 80, 120)),
    *(
        (
            f"course_net_py.w{w}.txt",
            ["tests/models/course_net.py:Net", "--input", "3x28x28", "--device", "cpu", "--width", str(w)],
        )
        for w in (60, 80, 120)
    ),
    ("vgg16.pipe.txt", ["examples/vgg16.yaml", "--no-verify"]),
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
    if "--width" in args and name.endswith(".txt"):
        width = int(args[args.index("--width") + 1])
        assert max(len(line) for line in got.splitlines()) <= width
    assert "…" not in got  # nothing is ever cut


@pytest.mark.parametrize("width", [40, 50, 60, 70, 80, 100, 120])
@pytest.mark.parametrize("path", ["examples/vgg16.yaml", "examples/unet.yaml", "examples/resnet50.yaml"])
def test_every_number_and_name_survives_any_width(path: str, width: int) -> None:
    """Each layer name and parameter count appears whole at every width (rich would write 138,357,…)."""
    import json

    doc = json.loads(CliRunner().invoke(main, ["shapes", path, "--no-verify", "--format", "json"]).stdout)
    out = CliRunner().invoke(main, ["shapes", path, "--no-verify", "--width", str(width)]).stdout
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= width
    words = set(out.split())
    for layer in doc["layers"]:
        assert layer["name"] in words or any(w.startswith(layer["name"]) for w in words), layer["name"]
        if isinstance(layer["params"], int):
            assert f"{layer['params']:,}" in out
    assert f"{doc['total_params']:,}" in out
