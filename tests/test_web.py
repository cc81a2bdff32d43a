"""``cnncalc serve``'s endpoints, judged by the CLI: every document, message and file must be the CLI's own.

Each test runs the same request through the page's API (starlette's TestClient, in process) and
through the command line (click's CliRunner, from the same folder so that file names match), and
compares the bytes. Skipped cleanly without starlette or httpx (``pip install 'cnncalc[web]' httpx``).
"""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient

from cnncalc.cli import main
from cnncalc.parse.limits import MAX_FILE_BYTES
from cnncalc.web.app import Config, create_app
from cnncalc.web.jobs import Busy, Jobs

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
BAD = Path(__file__).parent / "bad_inputs"
BUNDLED = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.yaml"))
CORPUS = sorted(p.relative_to(BAD).as_posix() for p in BAD.rglob("*.yaml") if p.stat().st_size <= MAX_FILE_BYTES)
CASES: list[dict[str, Any]] = yaml.safe_load((BAD / "cases.yml").read_text(encoding="utf-8"))


def cli(*args: str) -> tuple[int, str, list[str]]:
    """The CLI's exit code, stdout and stderr lines."""
    result = CliRunner().invoke(main, list(args), prog_name="cnncalc")
    return result.exit_code, result.stdout, result.stderr.splitlines()


@pytest.fixture
def client() -> Iterator[TestClient]:
    from cnncalc import budget

    # the CLI's default limit, which the suite raises on a busy machine (CNNCALC_TIMEOUT, tests/conftest.py)
    with TestClient(create_app(Config(timeout=budget.default_timeout()))) as c:
        yield c


def post(c: TestClient, path: str, file: Path, name: str, **params: Any) -> Any:
    return c.post(path, params={"name": name, **params}, content=file.read_bytes())


def wait_for(c: TestClient, job: str) -> dict[str, Any]:
    for _ in range(6000):  # bounded: 10 minutes at most, far above a verification's seconds
        state: dict[str, Any] = c.get(f"/api/jobs/{job}").json()
        if state["state"] not in ("queued", "running"):
            return state
        time.sleep(0.1)
    raise AssertionError("the job never finished")


# -- the shapes document --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cifar_cnn.yaml", "homework/q1_kernel_from_sizes.yaml", "keras/mnist_cnn.yaml"])
def test_shapes_is_the_cli_document(client: TestClient, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    code, out, err = cli("shapes", name, "--format", "json", "--no-verify")
    r = post(client, "/api/shapes", EXAMPLES / name, name, verify="0")
    assert r.status_code == 200
    assert r.content == out.encode("utf-8")
    assert r.headers["x-cnncalc-exit"] == str(code)
    assert json.loads(r.headers["x-cnncalc-stderr"]) == err


@pytest.mark.slow
@pytest.mark.parametrize("name", BUNDLED)
def test_every_example_is_the_cli_document(client: TestClient, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    code, out, err = cli("shapes", name, "--format", "json", "--no-verify")
    r = post(client, "/api/shapes", EXAMPLES / name, name, verify="0")
    assert (r.status_code == 200) == (code != 2)
    if code == 2:
        assert r.json()["stderr"] == err
    else:
        assert r.content == out.encode("utf-8")


def test_table_is_the_cli_table(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's table has the CLI table's cells: every row and every line under it is in the CLI's output."""
    monkeypatch.chdir(EXAMPLES)
    _, out, _ = cli("shapes", "cifar_cnn.yaml", "--no-verify", "--width", "200")
    view = post(client, "/api/table", EXAMPLES / "cifar_cnn.yaml", "cifar_cnn.yaml").json()["table"]
    lines = out.splitlines()
    for i, layer in enumerate(view["columns"][0]["cells"]):
        row = next(line for line in lines if line.startswith(f"│ {layer} "))
        for col in view["columns"][1:]:
            assert col["cells"][i] in row, (layer, col["header"])
    for note in view["notes"]:
        assert note in out


def test_set_is_the_cli_set(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    for values in (["H=64"], ["H=64", "W=96"], ["H=33"], ["H=0"], ["H=x"], ["Q=3"]):
        code, out, err = cli("shapes", "cifar_cnn.yaml", "--format", "json", "--no-verify",
                             *[a for v in values for a in ("--set", v)])  # fmt: skip
        r = post(client, "/api/shapes", EXAMPLES / "cifar_cnn.yaml", "cifar_cnn.yaml", set=values, verify="0")
        if code == 2:
            assert r.status_code == 422
            assert r.json()["stderr"] == err, values
        else:
            assert r.content == out.encode("utf-8"), values


def test_errors_are_located_as_the_cli_says(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = ("cnncalc: 1\nname: two-errors\ninput: [3, 32, 32]\nlayers:\n"
            "  - {type: Conv2d, out_channels: 8, kernel_size: 3, strid: 2}\n"
            "  - {type: Linaer, out_features: 10}\n")  # fmt: skip
    (tmp_path / "arch.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("shapes", "arch.yaml", "--no-verify")
    assert code == 2 and len(err) == 2
    r = client.post("/api/shapes", params={"verify": "0"}, content=text.encode())
    body = r.json()
    assert r.status_code == 422 and body["exit"] == 2
    assert body["stderr"] == err
    assert [e["text"] for e in body["errors"]] == err
    for e, line in zip(body["errors"], err):
        assert line.startswith(f"arch.yaml:{e['line']}:{e['column']}: error: ")


def test_bad_bytes_and_sizes(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "arch.yaml").write_bytes(b"cnncalc: 1\nname: \xff\n")
    monkeypatch.chdir(tmp_path)
    _, _, err = cli("shapes", "arch.yaml", "--no-verify")
    r = client.post("/api/shapes", content=b"cnncalc: 1\nname: \xff\n")
    assert r.status_code == 422 and r.json()["stderr"] == err
    r = client.post("/api/shapes", content=b"#" * (MAX_FILE_BYTES + 1))
    assert r.status_code == 413 and r.json()["exit"] == 2
    assert client.post("/api/shapes", content=b"").status_code == 422
    assert client.post("/api/calc", content=b"{" * 100_000).status_code == 413
    assert client.post("/api/calc", content=b"[1]").status_code == 400
    for name in ("../x.yaml", "/etc/passwd", "a/../../b.yaml", "x" * 300):
        assert client.post("/api/shapes", params={"name": name}, content=b"cnncalc: 1").status_code == 400


def test_no_python_target(client: TestClient) -> None:
    """The page takes architecture text, never a target: a name like model.py:Net is only a name."""
    r = client.post("/api/shapes", params={"name": "model.py:Net"}, content=b"import os\n")
    assert r.status_code == 422
    assert r.json()["stderr"][0].startswith("model.py:Net:")
    r = client.post("/api/calc", json={"args": ["shapes", "model.py:Net", "--input", "3x8x8"]})
    assert r.status_code == 400


# -- the hostile corpus -------------------------------------------------------------------------------------------


def _same_lines(got: list[str], expected: list[str]) -> None:
    """The CLI's lines; a time limit reached may stop at another layer on a busy machine, so only its words count."""
    timed_out = "did not finish within the time limit"
    if any(timed_out in line for line in expected):
        assert len(got) == len(expected) and all(timed_out in line for line in got), got
        assert [g.split(":")[0] for g in got] == [e.split(":")[0] for e in expected]
    else:
        assert got == expected


SLOW_ON_PURPOSE = ("huge/deep_100k.yaml", "huge/deep_100k_solve.yaml")
"""Files built to run past any time limit: they get 2 s; every other file gets 120 s, far above what it needs,
so that the outcome never depends on how busy the machine is."""


def _corpus_case(rel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    limit = "2" if rel in SLOW_ON_PURPOSE else "120"
    code, out, err = cli("shapes", rel, "--format", "json", "--no-verify", "--timeout", limit)
    with TestClient(create_app(Config(timeout=float(limit)))) as c:
        r = post(c, "/api/shapes", BAD / rel, rel, verify="0")
    assert r.status_code in (200, 422), r.text
    assert "Traceback" not in r.text
    if code == 2:
        _same_lines(r.json()["stderr"], err)
    else:
        assert r.content == out.encode("utf-8")
        assert json.loads(r.headers["x-cnncalc-stderr"]) == err


@pytest.fixture
def limited_client() -> Iterator[TestClient]:
    with TestClient(create_app(Config(timeout=2.0))) as c:
        yield c


@pytest.fixture
def patient_client() -> Iterator[TestClient]:
    with TestClient(create_app(Config(timeout=300.0))) as c:
        yield c


TOP = [c for c in CORPUS if "/" not in c]


@pytest.mark.parametrize("rel", TOP)
def test_hostile_corpus_gives_the_cli_line(rel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _corpus_case(rel, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("rel", [c for c in CORPUS if "/" in c])
def test_hostile_corpus_folders(rel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _corpus_case(rel, monkeypatch)


def _web_case(case: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """A cases.yml case as a request, when the page can make it (a YAML file with --set/--no-verify/--timeout 2)."""
    args = list(case["args"])
    if args[0] not in ("shapes", "explain", "solve") or len(args) < 2 or not args[1].endswith(".yaml"):
        return None
    params: dict[str, Any] = {"name": args[1], "set": []}
    rest = args[2:]
    while rest:
        a = rest.pop(0)
        if a == "--no-verify":
            params["verify"] = "0"
        elif a == "--set" and rest:
            params["set"].append(rest.pop(0))
        elif a == "--timeout" and rest and rest[0] == "2":
            rest.pop(0)
        else:
            return None
    return args[0], params


WEB_CASES = [c for c in CASES if _web_case(c) is not None]
CALC_CASES = [c for c in CASES if c["args"][0] in ("conv", "pool", "convt", "params", "convolve")
              and not any(a in ("--draw", "--frames", "--timeout", "--max-memory") for a in c["args"])]  # fmt: skip


def test_case_selection_covers_the_page() -> None:
    assert len(WEB_CASES) >= 30 and len(CALC_CASES) >= 20


@pytest.mark.slow
@pytest.mark.parametrize("case", WEB_CASES, ids=[" ".join(c["args"])[:60] for c in WEB_CASES])
def test_hostile_cases_through_the_api(patient_client: TestClient, limited_client: TestClient, case: dict[str, Any],
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(BAD)
    command, params = _web_case(case)  # type: ignore[misc]
    path = BAD / params["name"]
    if not path.is_file():
        pytest.skip("not a file the page could hold")
    timed = "--timeout" in case["args"]  # --timeout 2 on a file built to pass it; else 300 s, far above the need
    c = limited_client if timed else patient_client
    code, out, err = cli(*case["args"], *([] if timed else ["--timeout", "300"]))
    assert code == case["exit"]
    if command == "shapes":
        r = post(c, "/api/shapes", path, params["name"], set=params["set"],
                 verify="1" if params.get("verify") != "0" else "0")  # fmt: skip
        assert r.status_code in (200, 422), r.text
        if code == 2:
            _same_lines(r.json()["stderr"], err)
        else:
            assert r.headers["x-cnncalc-exit"] == str(code)
        return
    r = post(c, f"/api/{command}", path, params["name"], set=params["set"], verify=params.get("verify", "1"))
    assert r.status_code in (200, 422), r.text
    body = r.json()
    _same_lines(body["stderr"], err)
    if code != 2:
        assert body["out"] == out and body["exit"] == code


@pytest.mark.slow
@pytest.mark.parametrize("case", CALC_CASES, ids=[" ".join(c["args"])[:60] for c in CALC_CASES])
def test_hostile_calculator_cases(client: TestClient, case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    code, out, err = cli(*case["args"])
    assert code == case["exit"]
    r = client.post("/api/calc", json={"args": case["args"]})
    assert r.status_code != 500 and "Traceback" not in r.text
    body = r.json()
    assert body["stderr"] == err
    assert (r.status_code == 422) == (code == 2)
    if code != 2:
        assert body["out"] == out and body["exit"] == code


# -- calculators, working, solving -------------------------------------------------------------------------------

HOMEWORK_COMMANDS = [
    ["conv", "512", "--out-size", "504"],
    ["pool", "504", "-k", "2", "-s", "2"],
    ["pool", "11", "--out-size", "3", "-k", "auto", "-s", "auto", "-p", "1"],
    ["conv", "227x227", "-k", "11", "-s", "4", "-c", "3", "-f", "96"],
    ["conv", "224", "--out-size", "112", "-k", "7", "-s", "2"],
    ["params", "conv", "-k", "5", "-c", "3", "-f", "32"],
    ["convt", "16", "-k", "4", "-s", "2", "-p", "1", "--format", "latex"],
    [
        "convolve",
        "--image",
        "1 0 2 3 1; 3 2 0 7 0; 0 6 1 1 4",
        "--kernel",
        "-1 0 1; -2 0 2; -1 0 1",
        "--padding",
        "1",
        "--steps",
    ],
    ["pool", "8", "-k", "2", "--avg", "-d", "2"],
    ["conv", "32", "-k", "3", "-c", "0"],
]


@pytest.mark.parametrize("args", HOMEWORK_COMMANDS, ids=[" ".join(a)[:50] for a in HOMEWORK_COMMANDS])
def test_calculators_answer_as_the_cli(client: TestClient, args: list[str]) -> None:
    code, out, err = cli(*args)
    r = client.post("/api/calc", json={"args": args})
    body = r.json()
    assert (r.status_code == 422) == (code == 2)
    assert body["stderr"] == err
    if code != 2:
        assert body["out"] == out and body["exit"] == code


def test_convolution_stepper_figure(client: TestClient, tmp_path: Path) -> None:
    base = ["convolve", "--image", "1 0 2; 3 2 0; 0 6 1", "--kernel", "1 0; 0 1"]
    body = client.post("/api/calc", json={"args": base}).json()
    assert (body["rows"], body["columns"]) == (2, 2)
    for at in ("0,0", "1,1"):
        cli(*base, "--at", at, "--draw", str(tmp_path / "c.svg"))
        r = client.post("/api/calc", json={"args": [*base, "--at", at]}).json()
        assert r["svg"] == (tmp_path / "c.svg").read_text(encoding="utf-8")
    refused = client.post("/api/calc", json={"args": [*base, "--draw", "/tmp/x.svg"]})
    assert refused.status_code == 400


@pytest.mark.parametrize("name", sorted(p.name for p in (EXAMPLES / "homework").glob("*.yaml")))
def test_homework_explain_and_solve(client: TestClient, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    rel = f"homework/{name}"
    for command, extra in (("explain", ["--format", "markdown"]), ("solve", [])):
        code, out, err = cli(command, rel, *extra)
        params = {"format": "markdown"} if extra else {}
        r = post(client, f"/api/{command}", EXAMPLES / rel, rel, **params)
        body = r.json()
        assert body["stderr"] == err
        if code != 2:
            assert r.status_code == 200 and body["out"] == out and body["exit"] == code


# -- verification: the bounded queue ----------------------------------------------------------------------------


def test_verification_job_gives_the_verified_document(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    _, out, _ = cli("shapes", "cifar_cnn.yaml", "--format", "json")
    job = post(client, "/api/verify", EXAMPLES / "cifar_cnn.yaml", "cifar_cnn.yaml", client="t1").json()
    state = wait_for(client, job["job"])
    assert state["state"] == "done" and state["exit"] == 0
    assert state["document"] == json.loads(out)
    assert state["done"] == state["total"] > 0
    assert all(c == "✓" for c in state["table"]["columns"][-1]["cells"])
    r = post(client, "/api/shapes", EXAMPLES / "cifar_cnn.yaml", "cifar_cnn.yaml")  # verified, as the CLI's default
    assert r.content == out.encode("utf-8")


def _wait_running(job: Any) -> None:
    """Until the worker has taken ``job`` (a hang detector of 300 s, not a speed test: a busy machine is slow)."""
    for _ in range(30_000):
        if job.state == "running":
            return
        time.sleep(0.01)
    raise AssertionError("the worker never took the job")


def test_queue_is_bounded_and_newer_work_supersedes() -> None:
    jobs = Jobs(workers=1, capacity=2)
    gate = threading.Event()
    blocker = jobs.submit(lambda p: gate.wait(300))
    _wait_running(blocker)
    older = jobs.submit(lambda p: "older", client="tab")
    newer = jobs.submit(lambda p: "newer", client="tab")
    with pytest.raises(Busy):
        jobs.submit(lambda p: "third", client="other")
    gate.set()
    for j in (blocker, older, newer):
        assert j.finished.wait(300)
    assert older.state == "cancelled" and newer.state == "done" and newer.result == "newer"
    jobs.close()


def test_running_job_stops_at_the_next_layer() -> None:
    jobs = Jobs(workers=1, capacity=2)
    started = threading.Event()

    def long(progress: Any) -> str:
        for i in range(1000):
            started.set()
            progress(i, 1000)
            time.sleep(0.01)
        return "finished"

    job = jobs.submit(long, client="tab")
    assert started.wait(300)
    job.cancel()
    assert job.finished.wait(300)
    assert job.state == "cancelled" and job.result is None
    jobs.close()


def test_full_queue_is_503_not_a_hang() -> None:
    jobs = Jobs(workers=1, capacity=1)
    gate = threading.Event()
    blocker = jobs.submit(lambda p: gate.wait(300))
    _wait_running(blocker)
    text = (EXAMPLES / "lenet5.yaml").read_bytes()
    with TestClient(create_app(Config(jobs=jobs))) as c:
        first = c.post("/api/verify", params={"client": "a"}, content=text)
        second = c.post("/api/verify", params={"client": "b"}, content=text)
        assert first.status_code == 202
        assert second.status_code == 503 and "busy" in second.json()["error"]
        gate.set()
        assert wait_for(c, first.json()["job"])["state"] == "done"


def test_a_tab_s_newer_verification_cancels_its_older_one() -> None:
    jobs = Jobs(workers=1, capacity=4)
    gate = threading.Event()
    blocker = jobs.submit(lambda p: gate.wait(300))
    text = (EXAMPLES / "lenet5.yaml").read_bytes()
    with TestClient(create_app(Config(jobs=jobs))) as c:
        older = c.post("/api/verify", params={"client": "tab"}, content=text).json()["job"]
        newer = c.post("/api/verify", params={"client": "tab"}, content=text).json()["job"]
        other = c.post("/api/verify", params={"client": "another-tab"}, content=text).json()["job"]
        gate.set()
        assert blocker.finished.wait(300)
        gone = wait_for(c, older)
        assert gone["state"] == "cancelled" and gone["status"] == 409
        assert wait_for(c, newer)["state"] == "done"
        assert wait_for(c, other)["state"] == "done"
        assert c.delete(f"/api/jobs/{newer}").json()["state"] == "done"
        assert c.get("/api/jobs/j999").status_code == 404


def test_timeout_of_the_server_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request has the CLI's --timeout: the same located line as ``cnncalc shapes --timeout``."""
    monkeypatch.chdir(BAD)
    rel = "huge/deep_100k.yaml"
    code, _, err = cli("shapes", rel, "--no-verify", "--timeout", "0.5")
    assert code == 2
    with TestClient(create_app(Config(timeout=0.5))) as c:
        r = post(c, "/api/shapes", BAD / rel, rel, verify="0")
    assert r.status_code == 422
    assert "did not finish within the time limit of 0.5 s (--timeout)" in r.json()["stderr"][0]
    assert r.json()["stderr"][0].split(": error:")[0] == err[0].split(": error:")[0] or "deep_100k" in err[0]


# -- figures and exports: the CLI's files, byte for byte --------------------------------------------------------


def _same_pdf(a: bytes, b: bytes) -> bool:
    """cairo stamps each PDF with its creation time; everything else must be the same."""
    stamp = re.compile(rb"/CreationDate \(D:[0-9Z+'-]+\)")
    return stamp.sub(b"", a) == stamp.sub(b"", b)


@pytest.mark.parametrize("fmt", ["svg", "tikz", "json", "markdown"])
def test_exports_are_the_cli_files(
    client: TestClient, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _export(client, "cifar_cnn.yaml", fmt, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["png", "pdf", "csv", "latex"])
@pytest.mark.parametrize("name", ["homework/q4_parameters.yaml", "unet.yaml"])
def test_more_exports_are_the_cli_files(client: TestClient, name: str, fmt: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _export(client, name, fmt, tmp_path, monkeypatch)


def _export(client: TestClient, name: str, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    if fmt in ("svg", "png", "pdf", "tikz"):
        out_file = tmp_path / ("net.tex" if fmt == "tikz" else f"net.{fmt}")
        cli("draw", name, "-o", str(out_file))
        expected = out_file.read_bytes()
    elif fmt == "latex":
        expected = cli("explain", name, "--format", "latex")[1].encode("utf-8")
    else:
        expected = cli("shapes", name, "--format", fmt)[1].encode("utf-8")
    r = post(client, "/api/export", EXAMPLES / name, name, format=fmt)
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    assert _same_pdf(r.content, expected) if fmt == "pdf" else r.content == expected


@pytest.mark.parametrize("fmt", ["svg", "json"])
def test_exports_at_chosen_sizes_are_the_cli_files(client: TestClient, fmt: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """The page's sliders are --set: an export at H=64 is the CLI's file with --set H=64."""
    monkeypatch.chdir(EXAMPLES)
    if fmt == "svg":
        cli("draw", "cifar_cnn.yaml", "--set", "H=64", "-o", str(tmp_path / "net.svg"))
        expected = (tmp_path / "net.svg").read_bytes()
    else:
        expected = cli("shapes", "cifar_cnn.yaml", "--set", "H=64", "--format", "json")[1].encode("utf-8")
    r = post(client, "/api/export", EXAMPLES / "cifar_cnn.yaml", "cifar_cnn.yaml", format=fmt, set=["H=64"])
    assert r.status_code == 200 and r.content == expected


def test_receptive_field_figure_is_the_cli_figure(client: TestClient, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(EXAMPLES)
    for unit in ("relu_2", None):
        cli("rf", "cifar_cnn.yaml", "--draw", str(tmp_path / "rf.svg"), *(["--unit", unit] if unit else []))
        r = post(client, "/api/rf", EXAMPLES / "cifar_cnn.yaml", "cifar_cnn.yaml", **({"unit": unit} if unit else {}))
        assert r.status_code == 200 and r.content == (tmp_path / "rf.svg").read_bytes()
    code, _, err = cli("rf", "cifar_cnn.yaml", "--draw", str(tmp_path / "x.svg"), "--unit", "linear_1")
    r = post(client, "/api/rf", EXAMPLES / "cifar_cnn.yaml", "cifar_cnn.yaml", unit="linear_1")
    assert code == 2 and r.status_code == 422 and r.json()["stderr"] == err


def test_diagram_units_name_their_layers(client: TestClient) -> None:
    """The page clicks a box: its data-node is a unit the receptive-field endpoint takes."""
    svg = post(client, "/api/draw", EXAMPLES / "cifar_cnn.yaml", "cifar_cnn.yaml", verify="0").text
    nodes = set(re.findall(r'data-node="([^"]+)"', svg)) - {"input"}
    assert nodes
    for node in sorted(nodes):
        r = post(client, "/api/rf", EXAMPLES / "cifar_cnn.yaml", "cifar_cnn.yaml", unit=node, verify="0")
        assert r.status_code in (200, 422) and "Traceback" not in r.text


# -- the page itself -------------------------------------------------------------------------------------------


def test_page_and_assets_are_local(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/", "/static/app.js", "/static/style.css"):
        text = client.get(asset).text
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", text), asset  # no CDN, nothing fetched from elsewhere
        assert "https://" not in text and "http://" not in text


def test_bundled_examples_are_the_repository_examples(client: TestClient) -> None:
    listed = {e["path"] for e in client.get("/api/examples").json()}
    assert listed == set(BUNDLED)
    import cnncalc.web

    copy = Path(cnncalc.web.__file__).parent / "examples"  # the installed package's copy (CI tests the wheel)
    for rel in BUNDLED:
        assert filecmp.cmp(EXAMPLES / rel, copy / rel, shallow=False), f"cnncalc/web/examples/{rel} is out of date"
        assert client.get(f"/api/examples/{rel}").text == (EXAMPLES / rel).read_text(encoding="utf-8")
    assert client.get("/api/examples/../pyproject.toml").status_code == 404


def test_serve_binds_loopback_and_a_free_port(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "cnncalc", "serve", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)  # fmt: skip
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line + (proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        import urllib.request

        with urllib.request.urlopen(m.group(0) + "api/examples", timeout=60) as r:
            assert r.status == 200 and json.loads(r.read())
    finally:
        proc.terminate()
        proc.wait(300)


def test_serve_without_starlette_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "starlette", None)
    code, out, err = cli("serve", "--port", "0")
    assert code == 2 and out == ""
    assert err == ["error: cnncalc serve needs the Python package starlette, which is not installed; hint: "
                   "pip install 'cnncalc[web]'"]  # fmt: skip


def _fresh(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, cwd=ROOT, timeout=600)


def test_other_commands_never_import_the_web_packages() -> None:
    _fresh("import sys\nfrom cnncalc.cli import main\ntry:\n    main(['shapes', 'examples/lenet5.yaml', '--no-verify'])\n"
           "except SystemExit as e:\n    assert e.code == 0\n"
           "assert not {'starlette', 'uvicorn', 'cnncalc.web'} & set(sys.modules), 'a web package was imported'\n")  # fmt: skip


def test_the_live_table_does_not_import_torch() -> None:
    """Deriving as you type needs no torch: only verification imports it."""
    _fresh("import sys\nfrom starlette.testclient import TestClient\nfrom cnncalc.web.app import create_app\n"
           "c = TestClient(create_app())\n"
           "r = c.post('/api/table', content=open('examples/resnet18.yaml', 'rb').read())\n"
           "assert r.status_code == 200, r.text\n"
           "r = c.post('/api/draw', params={'verify': '0'}, content=open('examples/resnet18.yaml', 'rb').read())\n"
           "assert r.status_code == 200, r.text\n"
           "assert 'torch' not in sys.modules, 'torch was imported'\n")  # fmt: skip
