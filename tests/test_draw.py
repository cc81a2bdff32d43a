"""Pictures: every example and three Python models in every format, read back as a viewer sees them.

SVGs are rasterised by cairosvg (not blank), their shape labels are read as
math and compared with the shapes of an independent torch forward pass, and no
two boxes or labels overlap (text measured with the real font, tests/drawcheck.py).
TikZ is checked structurally (no TeX engine here). The receptive-field figure's
shaded cells equal, unit for unit, the input-gradient supports of a torch
network built here from the same layer list; the convolution figure's written
sum equals torch's conv2d.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.analysis.unitfield import unit_field
from cnncalc.cli import main
from cnncalc.pipeline import load, shapes
from cnncalc.render import draw as pictures
from cnncalc.render.draw.receptive import planes_of
from cnncalc.verify.unitfield import confirm

from .drawcheck import NS, collisions, items, not_blank, png_pixels
from .helpers import arch_text

EXAMPLES = sorted(str(p) for p in Path("examples").rglob("*.yaml"))
PYTHON = [("tests/models/course_net.py:Net", "3x28x28"), ("tests/models/outputs.py:ResidualNet", "3x16x16"),
          ("tests/models/outputs.py:ResidualDict", "3x8x8")]  # fmt: skip


@cache
def report_of(path: str) -> Any:
    return shapes(path, verify=False)


def torch_shapes(analysis: Any) -> dict[str, tuple[int, ...]]:
    """Per node, the per-sample output shape of the torch modules cnncalc builds, run on the meta device."""
    from cnncalc.graph.expand import INPUT
    from cnncalc.verify.network import Network

    mods = []
    with torch.device("meta"):  # built on meta too: no weights are initialised (VGG-16 has 138 M)
        for r in analysis.layers:
            ins = [analysis.graph.input_shape if s == INPUT else analysis.layers[s].shape for s in r.node.inputs]
            mods.append(r.node.layer.build(r.args, torch.nn, ins))
        net = Network(mods, [r.node.inputs for r in analysis.layers]).to("meta")
        net.eval()(torch.zeros(2, *analysis.graph.input_shape, device="meta"))
    return {r.node.name: tuple(s[1:]) for r, s in zip(analysis.layers, net.shapes)}


def label_value(text: str, binding: dict[str, int]) -> tuple[int, ...]:
    """A shape label as a reader reads it (``32×2⌊H/4⌋×2⌊W/4⌋``), evaluated at ``binding``."""
    import sympy
    from sympy.parsing.sympy_parser import implicit_multiplication, parse_expr, standard_transformations

    out = []
    for part in text.split("×"):
        expr = part.replace("⌊", " floor(").replace("⌋", ")").replace("⌈", " ceiling(").replace("⌉", ")")
        expr = expr.replace("·", "*").replace("−", "-")
        value = parse_expr(expr, {"floor": sympy.floor, "ceiling": sympy.ceiling},
                           transformations=(*standard_transformations, implicit_multiplication))  # fmt: skip
        out.append(int(value.subs(binding)))
    return tuple(out)


def shape_labels(svg: str) -> dict[str, str]:
    return {i.node: i.text for i in items(svg) if i.kind == "text" and i.role == "shape"}


def check_tikz(tex: str) -> None:
    """Balanced environments and braces, only known macros, ASCII only (pdflatex)."""
    known = {"documentclass", "begin", "end", "definecolor", "draw", "filldraw", "node", "sffamily", "bfseries",
             "fontsize", "selectfont", "times", "lfloor", "rfloor", "lceil", "rceil", "cdot", "le", "to", "surd",
             "Sigma", "ldots", "star", "ast", "textbackslash", "_", "%", "&", "#", "$", "{", "}", "^", "~"}  # fmt: skip
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    assert body.isascii()
    macros = set(re.findall(r"\\([A-Za-z]+|.)", body))
    assert macros <= known, macros - known
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", body):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name
    assert not stack
    depth = 0
    for ch in re.sub(r"\\[{}]", "", body):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert body.startswith(r"\documentclass[tikz,border=2pt]{standalone}")


def check_all_formats(figure: Any, tmp_path: Path) -> str:
    """Every format written and read back; returns the SVG."""
    svg = figure.svg()
    ET.fromstring(svg)
    assert collisions(svg) == []
    png = figure.png()
    assert png.startswith(b"\x89PNG") and not_blank(png)
    assert figure.pdf().startswith(b"%PDF")
    check_tikz(figure.tikz())
    for ext in ("svg", "png", "pdf", "tex"):
        assert figure.save(tmp_path / f"fig.{ext}") == ("tikz" if ext == "tex" else ext)
        assert (tmp_path / f"fig.{ext}").stat().st_size > 0
    return svg


@pytest.mark.parametrize("path", EXAMPLES)
def test_every_example_is_drawn_in_every_format_with_torchs_shapes(path: str, tmp_path: Path) -> None:
    report = report_of(path)
    actual = torch_shapes(report.defaults)
    binding = dict(report.defaults.graph.binding)
    for collapse, direction in ((False, "lr"), (True, "tb")):
        svg = check_all_formats(pictures.network(report, collapse, direction), tmp_path)
        labels = shape_labels(svg)
        assert len(labels) >= 2
        for node, text in labels.items():
            if node in actual:
                assert label_value(text, binding) == actual[node], (node, text)
            elif not collapse:
                assert node == "input" and label_value(text, binding) == tuple(report.defaults.graph.input_shape)


@pytest.mark.parametrize("path", EXAMPLES)
def test_the_other_two_layouts_do_not_overlap_either(path: str) -> None:
    for collapse, direction in ((False, "tb"), (True, "lr")):
        svg = pictures.network(report_of(path), collapse, direction).svg()
        assert collisions(svg) == [], (collapse, direction)


@pytest.mark.parametrize(("target", "size"), PYTHON)
def test_python_models_are_drawn_in_every_format(target: str, size: str, tmp_path: Path) -> None:
    from cnncalc import pymodel
    from cnncalc.pymodel.inputs import parse_inputs

    model, specs = pymodel.load(target), parse_inputs((size,), ())
    seen: dict[str, tuple[int, ...]] = {}

    def record(name: str) -> Any:
        def hook(module: Any, args: Any, output: Any) -> None:
            seen.setdefault(name, tuple(output.shape[1:]))

        return hook

    hooks = [m.register_forward_hook(record(n)) for n, m in model.model.named_modules() if n and not list(m.children())]
    with torch.no_grad():
        out = model.model(torch.zeros(2, *map(int, size.split("x"))))
    for h in hooks:
        h.remove()
    final = tuple((out["logits"] if isinstance(out, dict) else out).shape[1:])
    try:
        report: Any = shapes(pymodel.spec(model, specs, {}), device="cpu")
        traced = True
    except Exception:
        report, traced = pymodel.modules(model, specs, {}, "cpu"), False
    assert traced == (not target.endswith("Dict"))
    svg = check_all_formats(pictures.network(report), tmp_path)
    labels = shape_labels(svg)
    if traced:
        actual = torch_shapes(report.defaults)
        assert all(label_value(t, {}) == actual[n] for n, t in labels.items() if n != "input")
    else:
        assert all(label_value(t, {}) == seen[n] for n, t in labels.items() if n != "input")
    assert label_value(list(labels.values())[-1], {}) in (final, seen.get("head"))


def test_unet_is_a_u_and_resnet50_wraps_into_stages() -> None:
    unet = pictures.network(report_of("examples/unet.yaml"))
    assert unet.scene.meta["u_shape"] is True
    y = {i.node: i.points[0][1] for i in items(unet.svg()) if i.role == "box"}
    assert y["enc1.relu1"] < y["enc2.relu1"] < y["bottleneck.relu2"] > y["dec2.relu2"] > y["dec1.relu2"]
    assert abs(y["enc1.relu2"] - y["dec1.relu2"]) < 1
    r50 = pictures.network(report_of("examples/resnet50.yaml"))
    frames = [i.text for i in items(r50.svg()) if i.role == "frame-label"]
    assert [f.split(" · ")[0] for f in frames] == ["layer1", "layer2", "layer3", "layer4"]
    assert r50.scene.meta["rows"] == 4
    collapsed = pictures.network(report_of("examples/resnet50.yaml"), collapse=True)
    names = [i.text for i in items(collapsed.svg()) if i.role == "name"]
    assert names == ["input", "conv1", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten_1", "fc"]


def test_symbolic_labels_stay_symbolic_until_set() -> None:
    svg = pictures.network(report_of("examples/unet.yaml")).svg()
    assert shape_labels(svg)["down1"] == "16×H/2×W/2"  # ⌊H/2⌋ under the file's own H % 4 == 0
    fixed = pictures.network(shapes("examples/unet.yaml", {"H": 32, "W": 48}, verify=False)).svg()
    assert shape_labels(fixed)["down1"] == "16×16×24"


def test_verified_and_unverified_say_so() -> None:
    done = pictures.network(shapes("examples/lenet5.yaml", device="cpu")).svg()
    assert "every shape and count verified by a torch" in done
    assert "NOT verified" in pictures.network(report_of("examples/lenet5.yaml")).svg()


def test_a_mismatch_is_drawn_in_red_and_exits_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cnncalc.layers import CATALOGUE

    monkeypatch.setattr(CATALOGUE["Linear"], "params", lambda a, ins: ins[0][-1] * a["out_features"])
    out = tmp_path / "net.svg"
    result = CliRunner().invoke(main, ["draw", "examples/lenet5.yaml", "-o", str(out), "--device", "cpu"])
    assert result.exit_code == 1
    assert "'f6' parameters: derived 10080, torch gives 10164" in result.stderr
    svg = out.read_text()
    wrong = [i for i in items(svg) if i.role == "problem"]
    assert [i.text for i in wrong] == ["✗ parameters: torch gives 10164", "✗ parameters: torch gives 850"]
    assert [i.text for i in items(svg) if i.role == "name" and i.attrs.get("fill") == "#c62828"] == ["f6", "output"]
    assert "MISMATCH: torch disagrees where marked in red" in svg


# -- the command line -----------------------------------------------------------------------------------


def test_cli_formats_from_the_extension_and_stdout(tmp_path: Path) -> None:
    runner = CliRunner()
    for ext, head in (("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF"), ("tex", b"% ")):
        path = tmp_path / f"net.{ext}"
        result = runner.invoke(main, ["draw", "examples/lenet5.yaml", "--no-verify", "-o", str(path), "--collapse"])
        assert result.exit_code == 0, result.output
        assert path.read_bytes().startswith(head)
    result = runner.invoke(main, ["draw", "examples/lenet5.yaml", "--no-verify", "--format", "tikz"])
    assert result.exit_code == 0 and result.stdout.startswith("% lenet5")


@pytest.mark.parametrize(("args", "message"), [
    (["draw", "examples/lenet5.yaml", "-o", "x.svg", "--format", "png"], "the extension .svg says svg, but --format says png"),
    (["draw", "examples/lenet5.yaml", "-o", "x.jpg"], "cannot tell the format from the extension .jpg"),
    (["draw", "examples/nosuch.yaml"], "nosuch.yaml"),
    (["rf", "examples/lenet5.yaml", "--unit", "c1"], "--unit picks the unit that --draw draws"),
    (["rf", "examples/lenet5.yaml", "--unit", "cc1", "--draw", "x.svg"], "no layer 'cc1'"),
    (["rf", "examples/lenet5.yaml", "--unit", "c1@99,0", "--draw", "x.svg"], "is not a unit of 'c1'"),
    (["rf", "examples/lenet5.yaml", "--unit", "f6", "--draw", "x.svg"], "has no spatial output"),
    (["convolve", "--image", "1 2; 3 4", "--kernel", "1", "--draw", "x.svg", "--at", "3,1"], "is not an output element"),
])  # fmt: skip
def test_bad_drawing_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    args = [str(Path(__file__).parent.parent / a) if a.startswith("examples/") else a for a in args]
    result = CliRunner().invoke(main, [*args, "--no-verify"] if args[0] != "convolve" else args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert any(message in line and "error" in line.lower() for line in lines), result.stderr
    assert "Traceback" not in result.stderr and len(lines) <= 4


def test_missing_drawing_packages_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "drawsvg", None)
    result = CliRunner().invoke(main, ["draw", "examples/lenet5.yaml", "--no-verify"])
    assert result.exit_code == 2
    assert result.stderr == ("error: drawing SVG needs the Python package drawsvg, which is not installed; hint: pip "
                             "install 'cnncalc[draw]' (TikZ output needs nothing: --format tikz)\n")  # fmt: skip
    assert CliRunner().invoke(main, ["draw", "examples/lenet5.yaml", "--no-verify", "--format", "tikz"]).exit_code == 0


def test_draw_no_verify_imports_neither_torch_nor_drawing_packages_it_does_not_need() -> None:
    from .test_cli import assert_not_imported

    assert_not_imported(
        "torch", ["draw", "examples/resnet18.yaml", "--no-verify", "-o", "/dev/null", "--format", "svg"]
    )
    assert_not_imported("cairosvg", ["draw", "examples/lenet5.yaml", "--no-verify", "--format", "tikz"])


# -- receptive-field figures ----------------------------------------------------------------------------


def reference_supports(layers: list[dict[str, Any]], size: int, unit: tuple[int, int]) -> list[set[tuple[int, int]]]:
    """Per map (the input first), the units whose input gradient is non-zero, from torch modules built here.

    Constant positive weights and positive inputs make every dependence a non-zero gradient; max pooling
    (whose gradient goes to one unit of its window) becomes average pooling of the same geometry.
    """
    nn = torch.nn
    x = torch.rand(1, 1, size, size) + 0.5
    x.requires_grad_(True)
    maps = [x]
    outs: dict[str, Any] = {}
    for spec in layers:
        a = {k: v for k, v in spec.items() if k not in ("type", "id", "from")}
        t = spec["type"]
        h = outs[spec["from"]] if "from" in spec else maps[-1]
        if t == "Add":
            y = sum(outs[f] for f in spec["from"])
        elif t in ("MaxPool2d", "AvgPool2d"):
            y = nn.AvgPool2d(a["kernel_size"], a.get("stride"), a.get("padding", 0), a.get("ceil_mode", False))(h)
        elif t == "ReLU":
            y = torch.relu(h)
        else:
            m = getattr(nn, t)(h.shape[1], 2, **{k: v for k, v in a.items() if k != "out_channels"})
            with torch.no_grad():
                m.weight.fill_(0.1)
                if m.bias is not None:
                    m.bias.fill_(0.1)
            y = m(h)
        y.retain_grad()
        maps.append(y)
        if "id" in spec:
            outs[spec["id"]] = y
    maps[-1][0, :, unit[0], unit[1]].sum().backward()
    return [{tuple(u) for u in (m.grad[0].abs().sum(0) > 0).nonzero().tolist()} for m in maps]


@st.composite
def rf_chain(draw: st.DrawFn) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    for k in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "dilated", "convt", "pool", "relu", "skip"]))
        if kind in ("conv", "dilated"):
            layers.append({"type": "Conv2d", "out_channels": 2, "kernel_size": draw(st.integers(1, 4)),
                           "stride": draw(st.integers(1, 2)), "padding": draw(st.integers(0, 2)),
                           "dilation": 1 if kind == "conv" else draw(st.integers(2, 3))})  # fmt: skip
        elif kind == "convt":
            s = draw(st.integers(1, 3))
            layers.append({"type": "ConvTranspose2d", "out_channels": 2, "kernel_size": draw(st.integers(1, 3)),
                           "stride": s, "padding": draw(st.integers(0, 1)), "output_padding": draw(st.integers(0, s - 1)),
                           "dilation": draw(st.integers(1, 2))})  # fmt: skip
        elif kind == "pool":
            k_ = draw(st.integers(1, 3))
            layers.append({"type": draw(st.sampled_from(["MaxPool2d", "AvgPool2d"])), "kernel_size": k_,
                           "stride": draw(st.integers(1, 2)), "padding": draw(st.integers(0, k_ // 2))})  # fmt: skip
        elif kind == "relu":
            layers.append({"type": "ReLU"})
        else:  # a residual: a 3x3 'same' conv added to its input
            layers.append({"type": "ReLU", "id": f"in{k}"})
            layers.append({"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": draw(st.integers(1, 2)),
                           "dilation": draw(st.integers(1, 2)), "id": f"c{k}"})  # fmt: skip
            layers.append({"type": "Add", "from": [f"c{k}", f"in{k}"]})
    return layers


def drawn_cells(svg: str) -> dict[str, set[tuple[int, int]]]:
    """Per map (the plane's node name), the cells drawn shaded (blue) or as the unit (orange)."""
    out: dict[str, set[tuple[int, int]]] = {}
    for el in ET.fromstring(svg).iter(NS + "path"):
        if el.get("class") == "cell" and el.get("fill") in ("#3b78c2", "#ef6c00"):
            out.setdefault(el.get("data-node", ""), set()).add((int(el.get("data-row", 0)), int(el.get("data-col", 0))))
    return out


@settings(max_examples=60)
@given(rf_chain(), st.integers(6, 14), st.data())
def test_rf_figure_shades_exactly_the_input_gradient_support(layers: list[dict[str, Any]], size: int,
                                                              data: st.DataObject) -> None:  # fmt: skip
    from cnncalc.errors import CnnCalcError

    text = arch_text(layers, [1, size, size])
    try:
        report = shapes(load("chain.yaml", text), verify=False)
    except CnnCalcError:
        return
    last = report.defaults.layers[-1].shape
    unit = (data.draw(st.integers(0, last[1] - 1)), data.draw(st.integers(0, last[2] - 1)))
    field = confirm(unit_field(report.defaults, len(layers) - 1, unit))
    assert field.confirmed is not None and field.disagreements == ()
    svg = pictures.receptive_field(field).svg()
    drawn = drawn_cells(svg)
    want = reference_supports(layers, size, unit)
    shown = planes_of(field)
    assert shown[0] == -1 and shown[-1] == len(layers) - 1
    for i in shown:
        assert drawn.get(field.name(i), set()) == want[i + 1], field.name(i)
    for i in set(field.path) - set(shown):  # a map left out has the units and size of a map drawn beside it
        assert any(want[j + 1] == want[i + 1] and field.shape(j) == field.shape(i) for j in shown)
    assert collisions(svg, solids=("plane",), lines=("cone",), solid_lines=()) == []


def test_homework_rf_figure_rasterised_shows_7x7_then_3x3_then_the_unit(tmp_path: Path) -> None:
    report = shapes("examples/homework/q3_receptive_field.yaml", {"A": 11}, verify=False)
    field = confirm(unit_field(report.defaults, 1))
    figure = pictures.receptive_field(field)
    png = figure.png(scale=2)
    img = png_pixels(png)
    planes = {p.node: p for p in figure.scene.meta["planes"]}
    dx, dy = figure.scene.meta["offset"]
    want = reference_supports([{"type": "Conv2d", "out_channels": 1, "kernel_size": 5},
                               {"type": "Conv2d", "out_channels": 1, "kernel_size": 3}], 11, field.unit)  # fmt: skip
    for node, plane in planes.items():
        rows, cols = field.shape(node)[1:]
        shaded = set()
        for r in range(rows):
            for c in range(cols):
                x, y = plane.centre(r, c)
                patch = sorted(sum(img.getpixel((int(2 * (x + dx)) + u, int(2 * (y + dy)) + v)))
                               for u in (-1, 0, 1) for v in (-1, 0, 1))  # fmt: skip
                if patch[4] < 600:  # the median of a 3x3 patch: blue or orange, not white
                    shaded.add((r, c))
        assert shaded == want[node + 1]
    assert [len(want[k]) for k in range(3)] == [49, 9, 1]
    check_all_formats_rf(figure, tmp_path)


def check_all_formats_rf(figure: Any, tmp_path: Path) -> None:
    svg = figure.svg()
    assert collisions(svg, solids=("plane",), lines=("cone",), solid_lines=()) == []
    assert not_blank(figure.png()) and figure.pdf().startswith(b"%PDF")
    check_tikz(figure.tikz())
    assert "49 input units, a 7×7 region" in svg


def test_rf_cli_draws_the_centre_unit_by_default(tmp_path: Path) -> None:
    out = tmp_path / "rf.svg"
    result = CliRunner().invoke(main, ["rf", "examples/course/f_two_convs_symbolic.yaml", "--draw", str(out),
                                       "--unit", "Z2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert "receptive field of unit (13, 13) of Z2: 49 input units, a 7×7 region" in svg
    assert "confirmed unit for unit by torch input gradients" in svg
    cells = drawn_cells(svg)
    assert cells["input"] == {(r, c) for r in range(13, 20) for c in range(13, 20)}


# -- convolution figures --------------------------------------------------------------------------------


@settings(max_examples=25)
@given(st.integers(2, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2), st.booleans(), st.data())
def test_convolution_figure_sum_matches_torch(n: int, k: int, p: int, s: int, flip: bool, data: st.DataObject) -> None:
    from cnncalc.convolve import convolve

    if k > n + 2 * p:
        return
    values = st.integers(-9, 9)
    image = [[data.draw(values) for _ in range(n)] for _ in range(n)]
    kernel = [[data.draw(values) for _ in range(k)] for _ in range(k)]
    from fractions import Fraction

    conv = convolve([[Fraction(v) for v in r] for r in image], [[Fraction(v) for v in r] for r in kernel], p, s, flip)
    rows, cols = len(conv.output), len(conv.output[0])
    i, j = data.draw(st.integers(0, rows - 1)), data.draw(st.integers(0, cols - 1))
    svg = pictures.convolution(conv, [[Fraction(v) for v in r] for r in image], (i, j)).svg()
    w = torch.tensor(kernel, dtype=torch.float64)
    if flip:
        w = torch.flip(w, (0, 1))
    ref = torch.nn.functional.conv2d(torch.tensor(image, dtype=torch.float64)[None, None], w[None, None], stride=s,
                                     padding=p)[0, 0]  # fmt: skip
    sums = " ".join(i_.text for i_ in items(svg) if i_.role == "sum")
    products = re.findall(r"(-?\d+)·\(?(-?\d+)\)?", sums)
    assert sum(int(a) * int(b) for a, b in products) == int(ref[i, j])
    assert sums.endswith(f"= {int(ref[i, j])}")
    window = {(int(e.get("data-row", 0)), int(e.get("data-col", 0))) for e in ET.fromstring(svg).iter(NS + "path")
              if e.get("class") == "image" and e.get("fill") == "#ffe0b2"}  # fmt: skip
    assert window == {(i * s + a, j * s + b) for a in range(k) for b in range(k)}
    assert collisions(svg, solids=(), lines=(), solid_lines=()) == []


def test_convolve_frames_one_per_output_element(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["convolve", "--image", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 0; 0 1",
                                       "--draw", str(tmp_path / "c.png"), "--at", "1,0", "--frames",
                                       str(tmp_path / "frames")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not_blank((tmp_path / "c.png").read_bytes())
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [
        "out_00_00.png", "out_00_01.png", "out_01_00.png", "out_01_01.png"]  # fmt: skip


def test_figures_show_in_jupyter() -> None:
    figure = pictures.network(report_of("examples/lenet5.yaml"))
    assert figure._repr_svg_().lstrip().startswith("<?xml")


def _content(svg: str) -> list[tuple[str, dict[str, str], str]]:
    """Every element but the title lines (their torch version) and the page size (which the title can set)."""
    root = ET.fromstring(svg)
    return [(e.tag, dict(e.attrib), e.text or "") for e in root.iter()
            if e is not root and e.get("class") != "title" and not (e.tag == NS + "rect")]  # fmt: skip


def test_readme_figures_are_what_the_script_draws() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_figures", "docs/make_figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, figure in module.figures(verify=False).items():
        committed = (Path("docs/figures") / f"{name}.svg").read_text(encoding="utf-8")
        assert _content(figure.svg()) == _content(committed), f"run python docs/make_figures.py ({name})"
        assert "verified by a torch" in committed or "confirmed unit for unit" in committed or name == "convolve"


def test_api_summary_draws_itself_with_torchs_shapes() -> None:
    """``cnncalc.summary(model, ...).draw()`` (a notebook's figure): each label is the shape torch's forward
    gives that module; a symbolic summary keeps its symbols on the labels."""
    from torch import nn

    import cnncalc

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 5, padding=1)
            self.pool = nn.MaxPool2d(3, stride=2)
            self.head = nn.Linear(8 * 6 * 6, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.pool(torch.relu(self.conv(x))).flatten(1))

    model = Net()
    seen: dict[str, tuple[int, ...]] = {}

    def record(name: str) -> Any:
        def hook(module: Any, args: Any, output: Any) -> None:
            seen.setdefault(name, tuple(output.shape[1:]))

        return hook

    hooks = [m.register_forward_hook(record(n)) for n, m in model.named_modules() if n]
    with torch.no_grad():
        model(torch.zeros(2, 3, 16, 16))
    for h in hooks:
        h.remove()
    figure = cnncalc.summary(model, (2, 3, 16, 16)).draw(title="net")
    assert figure._repr_svg_().lstrip().startswith("<?xml")
    labels = shape_labels(figure.svg())
    assert {n: label_value(t, {}) for n, t in labels.items() if n != "input"} == seen
    convs = nn.Sequential(model.conv, nn.ReLU(), model.pool)
    symbolic = shape_labels(cnncalc.summary(convs, (3, "H", "W"), verbose=0).draw().svg())
    last = list(symbolic.values())[-1]
    assert "H" in last and label_value(last, {"H": 16, "W": 20}) == (*seen["pool"][:2], 8)


# -- figures for reports: kinds of layer, merges, scale, page width, titles, conventions ----------------------


def torch_family(cls: type) -> str | None:
    """The kind of a torch.nn class from torch's own class hierarchy (not from cnncalc's catalogue)."""
    m = torch.nn.modules
    table = [(m.conv._ConvTransposeNd, "up-sampling"), (m.conv._ConvNd, "convolution"),
             ((m.pooling._MaxPoolNd, m.pooling._AvgPoolNd, m.pooling._AdaptiveAvgPoolNd,
               m.pooling._AdaptiveMaxPoolNd, m.pooling._LPPoolNd), "pooling"),
             ((m.batchnorm._NormBase, torch.nn.GroupNorm, torch.nn.LayerNorm, torch.nn.LocalResponseNorm), "normalisation"),
             ((torch.nn.Linear, torch.nn.MultiheadAttention), "dense"), ((torch.nn.Upsample, torch.nn.PixelShuffle), "up-sampling"),
             ((torch.nn.Flatten, torch.nn.Unflatten, torch.nn.PixelUnshuffle), "reshape"),
             ((m.dropout._DropoutNd, torch.nn.Identity, m.padding._ConstantPadNd, m.padding._ReflectionPadNd,
               m.padding._ReplicationPadNd, m.padding._CircularPadNd), "other")]  # fmt: skip
    for base, family in table:
        if issubclass(cls, base):
            return family
    return "activation" if cls.__module__ == "torch.nn.modules.activation" else None


def test_every_torch_layer_type_names_its_family_as_torchs_class_hierarchy_says() -> None:
    from cnncalc.layers import CATALOGUE
    from cnncalc.layers.base import FAMILIES

    checked = 0
    for name, layer in CATALOGUE.items():
        assert layer.family in FAMILIES, name
        cls = getattr(torch.nn, name, None)
        if isinstance(cls, type) and issubclass(cls, torch.nn.Module):
            assert layer.family == torch_family(cls), name
            checked += 1
    assert checked > 60


def box_polys(svg: str) -> dict[str, list[Any]]:
    """Per node, the faces of its box (front, top, side) as drawn."""
    out: dict[str, list[Any]] = {}
    for i in items(svg):
        if i.kind == "poly" and i.role in ("box", "box-top", "box-side"):
            out.setdefault(i.node, []).append(i)
    return out


@pytest.mark.parametrize("path", ["examples/unet.yaml", "examples/cifar_cnn.yaml", "examples/resnet50.yaml"])
def test_boxes_are_coloured_by_their_layers_family_with_a_legend(path: str) -> None:
    from cnncalc.layers import CATALOGUE
    from cnncalc.render.draw.boxes import from_report
    from cnncalc.render.draw.layout import PALETTE

    report = report_of(path)
    layers = {r.node.name: r.node.layer for r in report.main.layers}
    net = from_report(report, False)
    svg = pictures.network(report).svg()
    fronts = {i.node: i for i in items(svg) if i.kind == "poly" and i.role == "box"}
    for b in net.boxes:
        if b.node == "input":
            continue
        first = layers[b.members[0]]
        expected = "merge" if first.merge else torch_family(getattr(torch.nn, first.name))
        assert b.family == first.family == expected
        assert fronts[b.node].attrs["fill"] == PALETTE[b.family][0][0]
        assert fronts[b.node].attrs["data-family"] == b.family
    drawn = {b.family for b in net.boxes} | {f for b in net.boxes for f in b.folded}
    legend = {i.attrs["data-family"]: i.attrs["fill"] for i in items(svg) if i.role == "legend"}
    assert set(legend) == drawn
    assert len({PALETTE[f][0][0] for f in drawn}) == len(drawn)  # a conv and a pool differ by more than text
    names = [i.text for i in items(svg) if i.role == "legend-label"]
    assert "convolution" in names and "pooling" in names
    assert CATALOGUE["Conv2d"].family != CATALOGUE["MaxPool2d"].family


MERGES = [p for p in EXAMPLES if re.search(r"\b(Add|Concat)\b", Path(p).read_text())]  # no derivation to collect


@pytest.mark.parametrize("path", MERGES)
@pytest.mark.parametrize("direction", ["lr", "tb"])
def test_each_input_enters_a_merge_on_its_own(path: str, direction: str) -> None:
    from cnncalc.render.draw.boxes import from_report

    report = report_of(path)
    net = from_report(report, False)
    svg = pictures.network(report, False, direction).svg()
    faces = box_polys(svg)
    ends = [i.points[-1] for i in items(svg) if i.kind == "line" and i.role == "edge"]
    nodes = {b.key: b for b in net.boxes}
    merges = [b for b in net.boxes if len(b.inputs) > 1]
    assert merges
    for b in merges:
        x0 = min(p[0] for f in faces[b.node] for p in f.points) - 3
        x1 = max(p[0] for f in faces[b.node] for p in f.points) + 3
        y0 = min(p[1] for f in faces[b.node] for p in f.points) - 3
        y1 = max(p[1] for f in faces[b.node] for p in f.points) + 3
        entering = [e for e in ends if x0 <= e[0] <= x1 and y0 <= e[1] <= y1]
        assert len(entering) == len(b.inputs), (b.node, [nodes[s].node for s in b.inputs], entering)
        for k, a in enumerate(entering):
            assert all(abs(a[0] - c[0]) + abs(a[1] - c[1]) >= 5 for c in entering[k + 1 :]), (b.node, entering)


def test_box_heights_make_a_halving_visible() -> None:
    """64×64, 32×32 and 16×16 maps of the U-Net: each halving makes the box clearly shorter (a third)."""
    report = report_of("examples/unet.yaml")
    sizes = {r.node.name: r.shape[-2] for r in report.defaults.layers}
    heights: dict[int, set[float]] = {}
    for node, faces in box_polys(pictures.network(report).svg()).items():
        front = next(f for f in faces if f.role == "box")
        if node in sizes:
            heights.setdefault(sizes[node], set()).add(
                round(max(p[1] for p in front.points) - min(p[1] for p in front.points), 1)
            )
    assert {64, 32, 16} <= set(heights) and all(len(h) == 1 for h in heights.values())
    h64, h32, h16 = (heights[n].pop() for n in (64, 32, 16))
    assert h64 / h32 >= 1.4 and h32 / h16 >= 1.4 and h64 / h16 >= 2.2


@settings(max_examples=100)
@given(st.integers(2, 4096), st.integers(1, 4096))
def test_halving_a_size_shortens_its_box_by_the_same_factor(n: int, extra: int) -> None:
    from cnncalc.render.draw.layout import MIN_LENGTH, size_of

    top = n + extra
    big, small = size_of(n, top), size_of(n // 2, top)
    assert big >= small
    if small > MIN_LENGTH:
        assert big / small >= 1.45


def svg_size(svg: str) -> tuple[str, str, list[float]]:
    root = ET.fromstring(svg)
    return root.get("width", ""), root.get("height", ""), [float(v) for v in root.get("viewBox", "").split()]


@pytest.mark.parametrize(("path", "collapse", "direction"), [
    ("examples/unet.yaml", False, "lr"), ("examples/unet.yaml", True, "lr"), ("examples/unet.yaml", False, "tb"),
    ("examples/cifar_cnn.yaml", False, "lr"), ("examples/resnet50.yaml", True, "lr")])  # fmt: skip
@pytest.mark.parametrize("width", ["16cm", "85mm", "6.3in", "450pt", "600px"])
def test_fit_prints_the_width_asked_with_text_of_7pt_or_more(path: str, collapse: bool, direction: str,
                                                             width: str) -> None:  # fmt: skip
    from cnncalc.render.draw.page import PX_PER, parse_width

    report = report_of(path)
    natural = pictures.network(report, collapse, direction)
    figure = pictures.network(report, collapse, direction, fit=width)
    svg = figure.svg()
    w, h, box = svg_size(svg)
    assert w == width
    target = parse_width(width).px
    scale = target / box[2]
    assert abs(float(h[: -len(width.lstrip("0123456789."))]) * PX_PER[parse_width(width).unit] - box[3] * scale) < 0.5
    smallest = min(float(i.attrs["font-size"]) for i in items(svg) if i.kind == "text")
    assert smallest * scale >= 7 * 96 / 72 - 1e-6  # 7 pt when printed at that width
    assert collisions(svg) == []
    if natural.scene.width * 10 / (7 * 96 / 72) > target and direction == "lr":  # too wide to scale alone: rows
        assert figure.scene.meta["rows"] > 1
    png = figure.png()
    assert abs(png_pixels(png).size[0] - 2 * target) <= 2
    check_tikz(figure.tikz())
    assert figure.pdf().startswith(b"%PDF")


def test_fit_on_the_command_line_and_bad_widths(tmp_path: Path) -> None:
    out = tmp_path / "u.svg"
    result = CliRunner().invoke(main, ["draw", "examples/unet.yaml", "--collapse", "--fit", "16cm", "-o", str(out),
                                       "--no-verify"])  # fmt: skip
    assert result.exit_code == 0, result.output
    w, _, box = svg_size(out.read_text())
    assert w == "16cm" and box[3] / box[2] < 1.5  # a page, no longer 4.5:1
    for bad in ("16", "16furlongs", "0cm", "-3cm", "1e9cm"):
        r = CliRunner().invoke(main, ["draw", "examples/unet.yaml", "--fit", bad, "-o", str(out), "--no-verify"])
        if bad == "16":  # a bare number is pixels
            assert r.exit_code == 0, r.output
            continue
        assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "--fit" in r.stderr and "Traceback" not in r.stderr


def test_a_python_models_title_is_its_name_not_its_path(tmp_path: Path) -> None:
    target = str((Path("tests/models/course_net.py")).resolve()) + ":Net"
    out = tmp_path / "n.svg"
    result = CliRunner().invoke(main, ["draw", target, "--input", "3x28x28", "-o", str(out), "--no-verify"])
    assert result.exit_code == 0, result.output
    title = next(i.text for i in items(out.read_text()) if i.role == "title")
    assert title.startswith("course_net.py:Net · input 3×28×28 · ") and "/" not in title
    from cnncalc import pymodel
    from cnncalc.pymodel.inputs import parse_inputs

    hooked = pictures.network(pymodel.modules(pymodel.load(target), parse_inputs(("3x28x28",), ()), {}, "cpu"))
    assert hooked.title.startswith("course_net.py:Net · input 3×28×28 · ")


def test_both_unit_figures_count_from_0_and_say_so(tmp_path: Path) -> None:
    """rf --draw's unit and convolve --draw's element are torch's indices: the highlighted cells are the ones
    torch's tensors hold at those indices."""
    rf = tmp_path / "rf.svg"
    result = CliRunner().invoke(main, ["rf", "examples/course/f_two_convs_symbolic.yaml", "--draw", str(rf),
                                       "--unit", "Z2@2,3", "--no-verify"])  # fmt: skip
    assert result.exit_code == 0, result.output
    svg = rf.read_text()
    assert "counted from 0, as torch indexes" in svg and "receptive field of unit (2, 3) of Z2" in svg
    assert drawn_cells(svg)["Z2"] == {(2, 3)}
    conv = tmp_path / "c.svg"
    image = "1 2 3 4; 5 6 7 8; 9 10 11 12"
    result = CliRunner().invoke(main, ["convolve", "--image", image, "--kernel", "1 0; 0 2", "--draw", str(conv),
                                       "--at", "1,2", "--steps"])  # fmt: skip
    assert result.exit_code == 0, result.output
    svg = conv.read_text()
    assert "counted from 0, as torch indexes" in svg and "output element (1, 2)" in svg
    x = torch.tensor([[1.0, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])[None, None]
    value = int(torch.nn.functional.conv2d(x, torch.tensor([[1.0, 0], [0, 2]])[None, None])[0, 0, 1, 2])
    assert f"out[1,2] = 7·1 + 8·0 + 11·0 + 12·2 = {value}" in svg
    assert sorted(i.text for i in items(svg) if i.role == "index") == ["0", "0", "1", "1", "2"]  # 2×3 output
    assert f"out[1,2] = 7*1 + 8*0 + 11*0 + 12*2 = {value}" in result.stdout  # the working counts the same way


def test_a_32x32_receptive_field_has_no_moire_and_no_line_crosses_a_label(tmp_path: Path) -> None:
    from cnncalc.render.draw.receptive import KY, MIN_SPACING

    layers = [{"type": "Conv2d", "out_channels": 2, "kernel_size": 7, "padding": 3},
              {"type": "Conv2d", "out_channels": 2, "kernel_size": 5, "padding": 2},
              {"type": "Conv2d", "out_channels": 2, "kernel_size": 4, "padding": 1}]  # fmt: skip
    report = shapes(load("rf32.yaml", arch_text(layers, [1, 32, 32])), verify=False)
    field = confirm(unit_field(report.defaults, 2))
    figure = pictures.receptive_field(field)
    svg = figure.svg()
    assert "196 input units" in svg
    grid = [i for i in items(svg) if i.kind == "line" and i.role == "grid"]
    for plane in figure.scene.meta["planes"]:
        depth = (plane.rows[1] - plane.rows[0] + 1) * plane.cell * KY
        y = plane.y + figure.scene.meta["offset"][1]  # the plane's front edge, where finish() moved it
        rows = sorted({round(g.points[0][1], 2) for g in grid if abs(g.points[0][1] - g.points[1][1]) < 1e-6
                       and y - depth - 1 <= g.points[0][1] <= y + 1})  # fmt: skip
        assert len(rows) >= 5
        gaps = [b - a for a, b in itertools.pairwise(rows)]
        assert all(g >= MIN_SPACING - 0.01 for g in gaps), gaps
    assert plane.cell * KY < MIN_SPACING  # dense enough that every line would have beaten
    assert collisions(svg, solids=("plane",), lines=("cone", "grid"), solid_lines=()) == []
    assert drawn_cells(svg)["input"] == {(r, c) for r in range(9, 23) for c in range(9, 23)}


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 12), st.data())
def test_simplified_shapes_equal_the_raw_ones_at_every_valid_size(modulus: int, data: st.DataObject) -> None:
    """Solution.simplified against the expression it rewrites, at sizes m·k + r (the only valid ones)."""
    import sympy

    from cnncalc.analysis.conditions import Solution, SymbolRange

    h = sympy.Symbol("H", integer=True, positive=True)
    residue = data.draw(st.integers(0, modulus - 1))
    expr: Any = h
    for _ in range(data.draw(st.integers(1, 3))):
        step = data.draw(st.sampled_from(["floor", "ceil", "mul", "add"]))
        d = data.draw(st.integers(1, 8))
        expr = (sympy.floor((expr + data.draw(st.integers(-3, 3))) / d) if step == "floor" else
                sympy.ceiling(expr / d) if step == "ceil" else expr * d if step == "mul" else expr + d - 4)  # fmt: skip
    solution = Solution({"H": SymbolRange("H", 1, modulus, (residue,))}, ())
    simple = solution.simplified(expr)
    for k in range(1, 30):
        v = modulus * k + residue
        assert int(simple.subs(h, v)) == int(expr.subs(h, v)), (expr, simple, v)
    ops = (sympy.floor, sympy.ceiling)
    count = sum(1 for e in sympy.preorder_traversal(expr) if isinstance(e, ops))
    assert sum(1 for e in sympy.preorder_traversal(simple) if isinstance(e, ops)) <= count


def test_shapes_are_simplified_under_the_files_conditions_wherever_they_are_shown(tmp_path: Path) -> None:
    report = report_of("examples/unet.yaml")
    assert "H % 4 == 0" in report.conditions
    labels = shape_labels(pictures.network(report).svg())
    assert labels["up2"] == "32×H/2×W/2" and labels["skip1"] == "32×H×W" and labels["down2"] == "32×H/4×W/4"
    table = CliRunner().invoke(main, ["shapes", "examples/unet.yaml", "--no-verify", "--width", "200"]).stdout
    assert "32×H/2×W/2" in table and "⌊" not in table.split("Valid when")[0]
    markdown = CliRunner().invoke(main, ["shapes", "examples/unet.yaml", "--no-verify", "--format", "markdown"]).stdout
    assert "| up2 | ConvTranspose2d | 32×H/2×W/2 |" in markdown
    import json

    doc = json.loads(
        CliRunner().invoke(main, ["shapes", "examples/unet.yaml", "--no-verify", "--format", "json"]).stdout
    )
    up2 = next(r for r in doc["layers"] if r["name"] == "up2")
    assert up2["output_shape"] == [32, "2*floor(H/4)", "2*floor(W/4)"]  # machines keep sympy's exact form
    cifar = shape_labels(pictures.network(report_of("examples/cifar_cnn.yaml")).svg())  # only H % 2 == 0 there
    assert cifar["pool1"] == "32×H/2×W/2" and cifar["maxpool2d_1"] == "64×⌊H/4⌋×⌊W/4⌋"


def test_a_hooked_summary_shows_kernel_sizes_activations_and_a_reused_pool() -> None:
    """torch's own module attributes are the judge: kernel sizes from ``kernel_size``, the family from torch's
    class hierarchy; an activation called as a function (seen by torch.fx) is folded in; a pool called twice
    is not said to share parameters it does not have."""
    from torch import nn

    import cnncalc

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 5, padding=1)
            self.pool = nn.MaxPool2d(3, stride=2)
            self.conv2 = nn.Conv2d(8, 8, (3, 1), padding=(1, 0))
            self.head = nn.Linear(8 * 2 * 2, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.pool(torch.relu(self.conv(x)))
            x = self.pool(torch.sigmoid(self.conv2(x)))
            return self.head(x.flatten(1))

    model = Net()
    svg = cnncalc.summary(model, (2, 3, 16, 16), verbose=0).draw().svg()
    ops = {i.node: i.text for i in items(svg) if i.role == "op"}
    params = {i.node: i.text for i in items(svg) if i.role == "params"}
    fronts = {i.node: i.attrs["data-family"] for i in items(svg) if i.role == "box"}
    for name in ("conv", "conv2"):
        k = getattr(model, name).kernel_size
        assert ops[name].startswith(f"Conv2d {k[0]}×{k[1]}"), ops
        assert fronts[name] == torch_family(type(getattr(model, name)))
    assert ops["conv"].endswith("+ ReLU") and ops["conv2"].endswith("+ Sigmoid")
    assert ops["pool"].startswith("MaxPool2d 3×3 /2") and fronts["pool"] == "pooling"
    assert all("shared with pool" not in t for t in params.values())
    assert sum(1 for i in items(svg) if i.role == "params" and i.text == "called again (pool)") == 1
