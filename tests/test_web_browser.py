"""The page in a real browser: playwright driving the system Chromium (``apt-get install chromium``).

Type a network and see its table and diagram; break it and see the error at its line; change H and
see the numbers change; answer a calculator question; download an export and compare it with the
CLI's file; take the screenshot the README shows. Judged by the CLI, never by typed numbers.
Skipped only where Chromium (or playwright) is missing; CI installs both (.ci/run).
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api")

from cnncalc import budget  # noqa: E402
from cnncalc.cli import main  # noqa: E402
from cnncalc.web.app import Config, create_app  # noqa: E402

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "", shutil.which("chromium-browser") or "")
                 if p and Path(p).is_file()), None)  # fmt: skip
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt-get install chromium)"), pytest.mark.slow]

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
WAIT = 120_000  # ms: a hang guard far above the seconds these take on a busy machine


def cli(*args: str) -> tuple[int, str, list[str]]:
    result = CliRunner().invoke(main, list(args), prog_name="cnncalc")
    return result.exit_code, result.stdout, result.stderr.splitlines()


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The page served on 127.0.0.1 at a free port, in a thread of this process."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(
        uvicorn.Config(create_app(Config(timeout=budget.default_timeout())), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started:
            break
        time.sleep(0.1)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server.should_exit = True
    thread.join(60)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, url: str) -> Iterator[Any]:
    # bypass_csp: playwright evaluates its wait conditions as strings, which the page's CSP (rightly) forbids
    context = browser.new_context(viewport={"width": 1500, "height": 1050}, accept_downloads=True, bypass_csp=True)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(url + "?example=cifar_cnn.yaml")
    p.wait_for_selector("body[data-state=verified]", timeout=WAIT)
    yield p
    context.close()
    assert not errors, errors


def type_network(page: Any, text: str) -> None:
    """Replace the editor's text the way a student does: select all, type."""
    page.fill("#filename", "arch.yaml")
    editor = page.locator("#source")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    editor.type(text, delay=0)


NET = """cnncalc: 1
name: typed-net
input: [1, 28, 28]
layers:
  - {type: Conv2d, out_channels: 6, kernel_size: 5}
  - ReLU
  - {type: MaxPool2d, kernel_size: 2}
  - Flatten
  - {type: Linear, out_features: 10}
"""


def svg_texts(page: Any, selector: str) -> list[str]:
    """The text of every label of a figure on the page."""
    return list(page.eval_on_selector(selector, "s => [...s.querySelectorAll('text')].map(t => t.textContent)"))


def file_texts(svg: str) -> list[str]:
    """The text of every label of an SVG file the CLI wrote."""
    import html
    import re

    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def table_cells(page: Any) -> list[list[str]]:
    return [[c.strip() for c in row] for row in page.eval_on_selector_all(
        "#table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")]  # fmt: skip


def test_type_a_network_see_table_and_diagram(page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    type_network(page, NET)
    page.wait_for_function("document.querySelector('#table caption').textContent.startsWith('typed-net')",
                           timeout=WAIT)  # fmt: skip
    page.wait_for_selector("body[data-state=verified]", timeout=WAIT)
    (tmp_path / "arch.yaml").write_text(NET, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    doc = json.loads(cli("shapes", "arch.yaml", "--format", "json")[1])
    rows = table_cells(page)
    assert [r[0] for r in rows] == [layer["name"] for layer in doc["layers"]]
    assert [r[2] for r in rows] == ["×".join(map(str, layer["output_shape"])) for layer in doc["layers"]]
    assert [r[3] for r in rows] == [f"{layer['params']:,}" for layer in doc["layers"]]
    assert all(r[-1] == "✓" for r in rows)
    svg = page.inner_html("#diagram")
    cli("draw", "arch.yaml", "-o", str(tmp_path / "net.svg"))
    drawn = (tmp_path / "net.svg").read_text(encoding="utf-8")
    assert page.eval_on_selector("#diagram", "d => d.dataset.verified") == "1"
    assert svg.count("data-node=") == drawn.count("data-node=") > 0


def test_an_error_shows_at_its_line(page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = NET.replace("kernel_size: 2}", "kernel_size: 2, strid: 2}")
    type_network(page, broken)
    page.wait_for_selector("body[data-state=errors]", timeout=WAIT)
    (tmp_path / "arch.yaml").write_text(broken, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("shapes", "arch.yaml", "--no-verify")
    assert code == 2
    shown = page.eval_on_selector_all("#errors li", "items => items.map(li => [li.textContent, li.dataset.line])")
    assert [s[0] for s in shown] == err
    line = err[0].split(":")[1]
    assert shown[0][1] == line
    assert page.inner_text(".gutter .mark") == line
    assert page.locator(f".errcol[data-line='{line}']").count() == 1


def test_changing_h_changes_the_numbers(page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    before = page.inner_text("#table tfoot")
    page.fill("#sym-H", "64")
    page.wait_for_function("!document.querySelector('#table').textContent.includes('At H=32')", timeout=WAIT)
    page.wait_for_selector("body[data-state=verified]", timeout=WAIT)
    monkeypatch.chdir(EXAMPLES)
    doc = json.loads(cli("shapes", "cifar_cnn.yaml", "--format", "json", "--set", "H=64")[1])
    footer = page.inner_text("#table tfoot")
    assert footer != before
    assert f"{doc['at_defaults']['total_params']:,}" in footer
    table = cli("shapes", "cifar_cnn.yaml", "--set", "H=64", "--width", "200")[1].splitlines()
    for row in table_cells(page):
        line = next(t for t in table if t.startswith(f"│ {row[0]} "))
        assert all(cell in line for cell in row), (row, line)
    page.fill("#sym-H", "33")  # breaks a condition: the CLI's line says which
    page.wait_for_selector("body[data-state=errors]", timeout=WAIT)
    err = cli("shapes", "cifar_cnn.yaml", "--set", "H=33", "--no-verify")[2]
    assert page.inner_text("#errors li") == err[0]


def test_answer_a_calculator_question(page: Any) -> None:
    page.click("#tab-calculators")
    page.select_option("#calc-kind", "conv")
    for field, value in (("size", "227x227"), ("kernel_size", "11"), ("stride", "4"), ("c_in", "3"), ("c_out", "96")):
        page.fill(f"#calc-{field}", value)
    assert page.inner_text("#calc-command") == "cnncalc conv 227x227 -k 11 -s 4 -c 3 -f 96"
    page.click("#calc-answer")
    page.wait_for_selector("body[data-calc='0']", timeout=WAIT)
    code, out, _ = cli("conv", "227x227", "-k", "11", "-s", "4", "-c", "3", "-f", "96")
    assert code == 0
    assert page.eval_on_selector("#calc-out", "e => e.textContent") == out
    page.fill("#calc-size", "512")
    for field in ("kernel_size", "stride", "c_in", "c_out"):
        page.fill(f"#calc-{field}", "")
    page.fill("#calc-out", "504")
    page.click("#calc-answer")
    page.wait_for_function("document.querySelector('#calc-out').textContent.includes('Working for')", timeout=WAIT)
    assert page.eval_on_selector("#calc-out", "e => e.textContent") == cli("conv", "512", "--out-size", "504")[1]


def test_convolution_stepper(page: Any, tmp_path: Path) -> None:
    page.click("#tab-convolution")
    page.click("#conv-run")
    page.wait_for_selector("#conv-figure svg", timeout=WAIT)
    image, kernel = "1 0 2 3 1; 3 2 0 7 0; 0 6 1 1 4", "-1 0 1; -2 0 2; -1 0 1"
    out = cli("convolve", "--image", image, "--kernel", kernel, "--padding", "1", "--steps")[1]
    assert page.eval_on_selector("#conv-out", "e => e.textContent") == out
    page.click("#conv-next")
    page.wait_for_function("document.querySelector('#conv-at').textContent.startsWith('output (0, 1)')", timeout=WAIT)
    cli("convolve", "--image", image, "--kernel", kernel, "--padding", "1", "--at", "0,1", "--draw",
        str(tmp_path / "c.svg"))  # fmt: skip
    expected = (tmp_path / "c.svg").read_text(encoding="utf-8")
    for _ in range(600):  # bounded: the figure of output (0, 1) replaces that of (0, 0)
        if svg_texts(page, "#conv-figure svg") == file_texts(expected):
            break
        time.sleep(0.1)
    assert svg_texts(page, "#conv-figure svg") == file_texts(expected)


@pytest.mark.parametrize("fmt, suffix", [("svg", "svg"), ("json", "json"), ("markdown", "md")])
def test_download_an_export_is_the_cli_file(page: Any, fmt: str, suffix: str, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    with page.expect_download(timeout=WAIT) as info:
        page.click(f"[data-export={fmt}]")
    download = info.value
    assert download.suggested_filename == f"cifar_cnn.{suffix}"
    got = tmp_path / download.suggested_filename
    download.save_as(str(got))
    monkeypatch.chdir(EXAMPLES)
    if fmt == "svg":
        cli("draw", "cifar_cnn.yaml", "-o", str(tmp_path / "cli.svg"))
        expected = (tmp_path / "cli.svg").read_bytes()
    else:
        expected = cli("shapes", "cifar_cnn.yaml", "--format", fmt)[1].encode("utf-8")
    assert got.read_bytes() == expected


def test_click_a_unit_and_take_the_screenshot(page: Any, tmp_path: Path, update_golden: bool,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Clicking a box shows its receptive field (the figure of ``cnncalc rf --draw``); the README's screenshot."""
    page.click("#diagram [data-node='relu_2'].box")
    page.wait_for_function("document.querySelector('#rf-panel').dataset.node === 'relu_2'", timeout=WAIT)
    monkeypatch.chdir(EXAMPLES)
    cli("rf", "cifar_cnn.yaml", "--draw", str(tmp_path / "rf.svg"), "--unit", "relu_2")
    expected = (tmp_path / "rf.svg").read_text(encoding="utf-8")
    assert svg_texts(page, "#rf svg") == file_texts(expected)
    page.click("#explain")
    page.wait_for_function("document.querySelector('#working-out').textContent.includes('Verified')", timeout=WAIT)
    shot = tmp_path / "web.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if update_golden:
        (ROOT / "docs" / "figures").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "figures" / "web.png")
