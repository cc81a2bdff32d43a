"""Accepted sizes stated exactly (issue 22): per dim, tied or not, against a torch brute force.

torch's verdict at (H, W) is a forward pass on meta tensors (torch's own shape rules) at batch 2 and 3
whose output keeps the batch. cnncalc's AcceptedSizes must agree at every size of a square and non-square
grid and at random sizes up to its limit; its JSON form, read by the rules docs/json.md gives (written
here again, not imported), must agree with it; and the text says whether the dims are tied.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import tests.models.course_net as course
import tests.models.sizes as models
from cnncalc.cli import main
from cnncalc.pymodel.fxspec import accepted_report, convert
from cnncalc.pymodel.inputs import parse_inputs

CASES = {"Strided": models.Strided, "Square": models.Square, "Blocks": models.Blocks, "Window": models.Window,
         "Net": course.Net, "FlatNet": course.FlatNet}  # fmt: skip


def torch_accepts(model: nn.Module, h: int, w: int) -> bool:
    if isinstance(model, models.Square) and 1 in (h - 2, w - 2) and h != w:
        # torch broadcasts a residual's dim that is 1 at this size; cnncalc's Add needs the dims equal (a
        # shortcut that broadcasts by accident is not one the model's author wrote)
        return False
    for b in (2, 3):
        try:
            with torch.no_grad():
                y = model(torch.empty(b, 3, h, w, device="meta"))
        except (RuntimeError, ValueError):
            return False
        if y.dim() == 0 or y.shape[0] != b:
            return False
    return True


def json_accepts(doc: dict[str, Any], size: dict[str, int]) -> bool:
    """The rules of docs/json.md, `accepted_sizes`."""
    if doc["tie"] == "none":
        return False
    for d in doc["dims"]:
        v = size[d["name"]]
        ok = v in d["only"] if d["only"] is not None else v >= d["min"] and v % d["modulus"] in d["residues"]
        if not ok:
            return False
    tied = [size[n] for n in doc["tied"]]
    if doc["tie"] == "equal":
        return len(set(tied)) == 1
    if doc["tie"] == "blocks":
        return any(all(v in sizes for v, sizes in zip(tied, block)) for block in doc["blocks"])
    return True


def sizes_of(cls: type[nn.Module]) -> Any:
    fx = convert(cls().eval(), parse_inputs(["3xHxW"]), {"H": 64, "W": 64}, cls.__name__)
    return accepted_report(fx)[1]


@pytest.mark.parametrize("name", list(CASES))
def test_accepted_sizes_agree_with_torch_on_square_and_non_square_sizes(name: str) -> None:
    cls = CASES[name]
    got = sizes_of(cls)
    doc = json.loads(json.dumps(got.to_json()))
    model = cls().eval().to("meta")
    limit = got.limit or 256
    rng = random.Random(name)
    points = [(h, w) for h in range(1, 33) for w in range(1, 33)]
    points += [(rng.randint(1, limit), rng.randint(1, limit)) for _ in range(150)]
    for block in doc["blocks"]:  # the edges of every block, and just outside them
        for h in (block[0][0] - 1, block[0][0], block[0][-1], block[0][-1] + 1):
            for w in (block[1][0] - 1, block[1][0], block[1][-1], block[1][-1] + 1):
                points.append((h, w))
    wrong = []
    for h, w in points:
        if h < 1 or w < 1 or h > limit or w > limit:
            continue
        truth = torch_accepts(model, h, w)
        if got.contains({"H": h, "W": w}) != truth or json_accepts(doc, {"H": h, "W": w}) != truth:
            wrong.append((h, w, truth))
    assert not wrong, (got.text, wrong[:10])


def test_the_wording_says_whether_dims_are_tied() -> None:
    assert sizes_of(models.Window).text == "H in 32..35, W in 32..35 (independent)"
    assert sizes_of(models.Square).text.startswith("H = W required")
    strided = sizes_of(models.Strided).text
    assert "H ≡ 0 (mod 16)" in strided and "W ≡ 0 (mod 16)" in strided and strided.endswith("(independent)")
    blocks = sizes_of(models.Blocks)
    assert blocks.tie == "blocks" and blocks.text.startswith("H and W tied: H in 10..13 with W in 150..153")
    assert "H in 30..33 with W in 30..33" in blocks.text


def test_check_and_shapes_json_use_the_same_wording() -> None:
    runner = CliRunner()
    out = runner.invoke(main, ["check", "tests/models/course_net.py:Net", "--input", "3x32x32"]).stdout
    text = sizes_of(course.Net).text
    assert f"The model is consistent only for inputs with {text}" in out
    assert "H = W in" not in out
    doc = json.loads(runner.invoke(main, ["shapes", "tests/models/sizes.py:Window", "--input", "3xHxW", "--set",
                                          "H=32", "--set", "W=33", "--format", "json"]).stdout)  # fmt: skip
    assert doc["symbolic"]["accepted"] == "H in 32..35, W in 32..35 (independent)"
    assert doc["symbolic"]["accepted_sizes"]["tie"] == "independent"
    assert json_accepts(doc["symbolic"]["accepted_sizes"], {"H": 35, "W": 32})
    assert not json_accepts(doc["symbolic"]["accepted_sizes"], {"H": 36, "W": 32})
