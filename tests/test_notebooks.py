"""Notebooks as targets (course.ipynb:Net) and cnncalc.summary inside a real Jupyter kernel.

The notebooks are made with nbformat here. Only imports, definitions and literal constants may run:
the training-loop cell would write a marker file and exit, so any test that lets it run fails.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from cnncalc.cli import main
from tests.models.course_net import Net as CourseNet

nbformat = pytest.importorskip("nbformat")
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402

NET = inspect.getsource(CourseNet)  # the course network of tests/models, pasted into a cell
VIEW_LINE = next(i for i, line in enumerate(NET.splitlines(), 1) if "x.view(-1, 512)" in line)


def course(tmp_path: Path, marker: Path) -> Path:
    """The course notebook: setup, a training loop that must not run, then the network (cell 5)."""
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Homework 3\nA small CNN for 53 classes."),
        new_code_cell(
            "!pip install torchvision\n%matplotlib inline\nimport torch\nimport torch.nn.functional as F\n"
            "from torch import nn\nNUM_CLASSES = 53\nEPOCHS, LR = 10, 1e-3"
        ),
        new_code_cell(
            f"for epoch in range(EPOCHS):\n    open({str(marker)!r}, 'w').write('trained')\n"
            "    raise SystemExit('the training loop ran')\n"
            f"data = open({str(marker)!r}, 'w')"
        ),
        new_markdown_cell("## The network"),
        new_code_cell(NET),
        new_code_cell("%%time\nclass Timed(nn.Module):\n    pass"),
        new_code_cell("net = Net()\nlosses = [train(net) for _ in range(EPOCHS)]\nnet?"),
        new_code_cell("from google.colab import drive  # only on Colab\nfrom torchvision.datasets import NoSuch"),
        new_code_cell("def broken(:\n    pass"),
    ]
    path = tmp_path / "course.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "trained.txt"
    path = course(tmp_path, marker)
    yield Path(path.name)
    assert not marker.exists(), "a cell that is not a definition ran"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check_locates_the_crash_in_its_cell(notebook: Path) -> None:
    code, out, _ = run("check", f"{notebook}:Net", "--input", "3xHxW", "--sizes", "28,32", "--expect-output", "53")
    assert code == 1
    assert "✓ forward pass at input 3x28x28" in out and "✓ output shape at input 3x28x28: 53" in out
    line = next(x for x in out.splitlines() if "error:" in x)
    assert line.strip().startswith(f"course.ipynb:cell 5:{VIEW_LINE}:9: error: view/reshape to [-1, 512]")
    assert "`x = x.view(-1, 512)`" in line and "H in 28..31 with W in 28..31" in line


def test_the_location_goes_into_json_github_and_junit(notebook: Path, tmp_path: Path) -> None:
    args = ("check", f"{notebook}:Net", "--input", "3x32x32")
    code, out, _ = run(*args, "--format", "json")
    assert code == 1
    crash = next(c for c in json.loads(out)["checks"] if not c["ok"])
    assert crash["location"] == {"file": "course.ipynb", "line": VIEW_LINE, "column": 9, "cell": 5}
    xml = tmp_path / "junit.xml"
    code, out, _ = run(*args, "--format", "github", "--junit-xml", str(xml))
    annotation = next(x for x in out.splitlines() if x.startswith("::error"))
    assert annotation.startswith("::error file=course.ipynb,title=")  # no JSON line number that would mislead
    assert f"::course.ipynb:cell 5:{VIEW_LINE}:9: view/reshape" in annotation
    case = next(c for c in ET.parse(xml).iter("testcase") if c.find("failure") is not None)
    assert case.get("file") == "course.ipynb" and case.get("line") is None
    assert case.find("failure").text.startswith(f"course.ipynb:cell 5:{VIEW_LINE}:9: ")  # type: ignore[union-attr]


def test_verbose_lists_what_was_skipped(notebook: Path) -> None:
    code, _, err = run("shapes", f"{notebook}:Net", "--input", "3x28x28", "--verbose")
    assert code == 0
    notes = err.splitlines()
    for expected in ("course.ipynb:cell 2:1:1: note: skipped shell command: !pip install torchvision",
                     "course.ipynb:cell 2:2:1: note: skipped magic: %matplotlib inline",
                     "course.ipynb:cell 3:1:1: note: skipped for loop: for epoch in range(EPOCHS):",
                     "course.ipynb:cell 3:4:1: note: skipped assignment of a computed value: data = open(",
                     "course.ipynb:cell 6:1:1: note: skipped cell magic (the whole cell): %%time",
                     "course.ipynb:cell 7:1:1: note: skipped assignment of a computed value: net = Net()",
                     "course.ipynb:cell 7:3:1: note: skipped help request: net?",
                     "course.ipynb:cell 8:1:1: note: skipped import failed (ModuleNotFoundError: No module named 'google')",
                     "course.ipynb:cell 8:2:1: note: skipped import failed (",
                     "course.ipynb:cell 9:1:1: note: skipped the whole cell: it is not valid Python"):  # fmt: skip
        assert any(n.startswith(expected) for n in notes), expected
    assert not any("cell 5" in n for n in notes)  # the network's cell runs in full
    code, _, err = run("check", f"{notebook}:Net", "--input", "3x28x28", "--verbose")
    assert code == 0 and "skipped for loop" in err
    _, _, quiet = run("shapes", f"{notebook}:Net", "--input", "3x28x28")
    assert "note:" not in quiet


def test_help_says_what_runs() -> None:
    for command in ("shapes", "check"):
        text = " ".join(CliRunner().invoke(main, [command, "--help"]).output.split())
        assert "course.ipynb:Net" in text and "only" in text and "%magics" in text and "--verbose" in text


def test_notebook_cli_and_api_give_the_same_numbers(notebook: Path) -> None:
    import cnncalc
    from tests.test_api import comparable

    def shapes_json(target: str, size: str) -> dict[str, Any]:
        code, out, err = run("shapes", target, "--input", size, "--format", "json")
        assert code == 0, err
        return dict(json.loads(out))

    root = Path(__file__).parent.parent
    from_file = shapes_json(str(root / "tests/models/course_net.py:Net"), "3x28x28")
    from_notebook = shapes_json(f"{notebook}:Net", "3x28x28")
    from tests.models.course_net import Net

    from_api = cnncalc.summary(Net(), (2, 3, 28, 28), verbose=0).to_dict()
    assert comparable(from_notebook) == comparable(from_file) == comparable(from_api)
    assert from_notebook["totals"]["params"] == sum(p.numel() for p in Net().parameters())
    sym_notebook = shapes_json(f"{notebook}:Net", "3xHxW")
    sym_file = shapes_json(str(root / "tests/models/course_net.py:Net"), "3xHxW")
    sym_api = cnncalc.summary(Net(), (3, "H", "W"), verbose=0).to_dict()
    drop = ("name", "file")

    def same(doc: dict[str, Any]) -> dict[str, Any]:  # layers are located in each one's own source: lines differ
        out = {k: v for k, v in doc.items() if k not in drop}
        out["layers"] = [
            {k: v for k, v in layer.items() if k not in ("line", "column", "cell")} for layer in out["layers"]
        ]
        return out

    assert same(sym_notebook) == same(sym_file) == same(sym_api)
    source = (root / "tests/models/course_net.py").read_text().splitlines()
    assert all("x" in source[layer["line"] - 1] for layer in sym_file["layers"])  # the forward's lines


def test_rf_and_explain_work_on_a_notebook(notebook: Path) -> None:
    code, out, _ = run("rf", f"{notebook}:Net", "--input", "3x28x28", "--width", "200")
    assert code == 0 and "receptive fields of 18 units match the input gradients" in out, out
    assert re.search(r"pool2 +│ MaxPool2d │ +16 │ +4 │ +0 │ +16 │ +4 │ +0 │", out), out
    code, out, _ = run("explain", f"{notebook}:Net", "--input", "3x28x28", "--layer", "conv2")
    assert code == 0 and "(5·5·16 + 1)·32 = 12,832" in out


@pytest.mark.parametrize(("target", "message"), [
    ("missing.ipynb:Net", "error: no such file: missing.ipynb"),
    ("course.ipynb:Nett", "did you mean 'Net'"),
    ("broken.ipynb:Net", "broken.ipynb is not a readable Jupyter notebook"),
    ("raises.ipynb:Net", "raises.ipynb:cell 1:3:5: error: running the definition in cell 1 failed: ZeroDivisionError"),
])  # fmt: skip
def test_bad_notebooks_are_one_located_line(notebook: Path, target: str, message: str) -> None:
    Path("broken.ipynb").write_text("{not json", encoding="utf-8")
    nb = new_notebook()
    nb.cells = [new_code_cell("import torch\nclass Net(torch.nn.Module):\n    size = 1 // 0")]
    nbformat.write(nb, "raises.ipynb")
    code, _, err = run("shapes", target, "--input", "3x28x28")
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err


def test_the_pre_commit_hook_checks_notebooks(notebook: Path) -> None:
    from cnncalc.precommit import main as hook

    nb = new_notebook()
    nb.cells = [new_code_cell("import torch.nn.functional as F\nfrom torch import nn\nNUM_CLASSES = 53"),
                new_code_cell(NET.replace("x.view(-1, 512)", "x.flatten(1)"))]  # fmt: skip
    nbformat.write(nb, "fixed.ipynb")
    assert hook(["fixed.ipynb", "--input", "3x28x28"]) == 0
    assert hook(["fixed.ipynb", "--input", "3x32x32"]) == 1
    assert hook(["fixed.ipynb", "course.ipynb", "--input", "3x28x28"]) == 0  # Timed (in a %%time cell) never ran
    nb.cells = [new_code_cell("import torch\nNOTES = 'no model here'")]
    nbformat.write(nb, "notes.ipynb")
    assert hook(["fixed.ipynb", "notes.ipynb", "--input", "3x28x28"]) == 2
    assert hook(["course.ipynb:Net", "--input", "3x28x28"]) == 0


# --- a real Jupyter kernel -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_summary_and_check_render_as_html_in_a_jupyter_kernel(tmp_path: Path) -> None:
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = new_notebook()
    nb.cells = [
        new_code_cell(
            "import torch\nimport torch.nn.functional as F\nfrom torch import nn\nimport cnncalc\nNUM_CLASSES = 53"
        ),
        new_code_cell(NET),
        new_code_cell("model = Net()\ncnncalc.summary(model, (1, 3, 28, 28))"),
        new_code_cell("cnncalc.check(model, (3, 'H', 'W'), sizes=(28, 32))"),
        new_code_cell("s = cnncalc.summary(model, (3, 'H', 'W'))\nprint(s.total_params, s.accepted)\ns"),
    ]
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    client.execute()

    def html(cell: int) -> str:
        outputs = nb.cells[cell].outputs
        assert not [o for o in outputs if o.output_type == "error"], outputs
        return str(next(o for o in outputs if o.output_type == "execute_result")["data"]["text/html"])

    table = html(2)
    assert not [o for o in nb.cells[2].outputs if o.output_type == "stream"]  # displayed once, not printed too
    headers = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", table)
    assert headers == ["Module", "Type", "Output", "Params", "MACs", "RF", "Note", "✓"]
    assert "<tfoot><tr><td>Total</td>" in table and "41,237" in table.split("<tfoot>")[1]
    assert table.count('<span class="ok">✓</span>') == 5  # every catalogue module confirmed by torch
    assert "Total params: 41,237" in table and "torch&#x27;s own (forward hooks, batch 1" in table
    check = html(3)
    assert '<span class="ok">✓</span> forward pass at input 3x28x28' in check
    assert '<span class="bad">✗</span> forward pass at input 3x32x32' in check and "x.view(-1, 512)" in check
    printed = "".join(o.get("text", "") for o in nb.cells[4].outputs if o.output_type == "stream")
    assert "H in 28..31 with W in 28..31" in printed
    symbolic = html(4)
    assert "⌊H/2⌋ − 6" in symbolic and "Verified: torch" in symbolic and "Valid when" in symbolic
