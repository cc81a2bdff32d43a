"""Hostile and broken input: one pinned line, exit 2, no traceback, bounded time.

Each file in tests/bad_inputs/ starts with ``# expect: LINE:COL: error: ...``:
the exact message cnncalc must print after ``FILE:``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from cnncalc.cli import main
from cnncalc.errors import CnnCalcError

HERE = Path(__file__).parent / "bad_inputs"
HANG_SECONDS = 300
"""A hang detector per case, never a speed test: far above any case's time on a quiet machine (the slowest takes
a few seconds), so that a busy machine cannot fail it. cnncalc's own limits are tested with small --timeout values."""
CORPUS = sorted(HERE.glob("*.yaml"))
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "cases.yml").read_text(encoding="utf-8"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 60
    assert len(CASES) >= 150


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_bad_input_message_is_pinned(path: Path) -> None:
    expected = path.read_bytes().split(b"\n")[0].decode().removeprefix("# expect: ")  # the rest may be bad bytes
    code, out, err = run("shapes", str(path), "--no-verify")
    assert code == 2
    assert out == ""
    assert err == f"{path}:{expected}\n"
    assert "Traceback" not in err


def test_traceback_flag_shows_the_python_traceback() -> None:
    result = CliRunner().invoke(main, ["shapes", str(CORPUS[0]), "--no-verify", "--traceback"])
    assert result.exit_code != 0 and result.exception is not None


def test_missing_file() -> None:
    code, _, err = run("shapes", "no/such/file.yaml")
    assert code == 2
    assert err == "error: no such file: no/such/file.yaml; hint: check the path\n"


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "net.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    code, _, err = run("shapes", str(path), "--no-verify")
    assert code == 2
    assert err == f"{path}:1:1: error: the file is not UTF-8 text (byte 0: 0xff); hint: save the file as UTF-8\n"


def test_file_of_several_megabytes(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("cnncalc: 1\ninput: [3, 8, 8]\nlayers:\n" + "  - ReLU\n" * 700_000)
    code, _, err = run("shapes", str(path), "--no-verify")
    assert code == 2
    assert err == (
        f"{path}:1:1: error: file is 6.3 MB, larger than the 4 MiB limit; "
        "hint: architecture files are small; generate repeated layers with 'repeat:' or blocks\n"
    )


@pytest.mark.slow
def test_too_many_layers_after_expansion(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(
        "cnncalc: 1\ninput: [3, 8, 8]\nblocks:\n  B:\n    layers:\n      - {type: ReLU, repeat: 10000}\n"
        "layers:\n  - {type: B, repeat: 11}\n"
    )
    code, _, err = run("shapes", str(path), "--no-verify")
    assert code == 2
    assert "error: the network expands to more than 100000 layers" in err


def test_bad_set_option() -> None:
    code, _, err = run("shapes", "examples/cifar_cnn.yaml", "--set", "H=abc", "--no-verify")
    assert code == 2 and "expected NAME=INTEGER" in err
    code, _, err = run("shapes", "examples/cifar_cnn.yaml", "--set", "Q=4", "--no-verify")
    assert code == 2
    assert err == "error: --set Q: the file declares no symbol 'Q'; hint: declared symbols: H, W\n"


BOUNDED = """
import json, resource, signal, sys, time
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
from cnncalc.cli import main
HANG = int(sys.argv[1])
def timeout(*_): raise TimeoutError
signal.signal(signal.SIGALRM, timeout)
out = {}
for path in sys.argv[1:]:
    start = time.perf_counter()
    signal.alarm(HANG)
    try:
        main(["shapes", path, "--no-verify"], standalone_mode=True)
        code = 0
    except SystemExit as e:
        code = e.code
    signal.alarm(0)
    out[path] = [code, time.perf_counter() - start]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_corpus_runs_in_bounded_time_and_memory() -> None:
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", BOUNDED, str(HANG_SECONDS), *map(str, CORPUS)],
                          capture_output=True, text=True, timeout=HANG_SECONDS * len(CORPUS))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for path, (code, _seconds) in results.items():
        assert code == 2, path


HARNESS = """
import contextlib, faulthandler, io, json, os, resource, sys, time
limit, timeout, out_path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from cnncalc.cli import main
cases = json.loads(sys.stdin.read())
with open(out_path, "w") as log:
    for n, args in enumerate(cases):
        log.write(json.dumps({"start": n}) + "\\n")
        log.flush()
        faulthandler.dump_traceback_later(timeout, exit=True)  # a hang ends the run, naming the case
        out, err = io.StringIO(), io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(args, prog_name="cnncalc", standalone_mode=True)
                code = 0
            except SystemExit as e:
                code = e.code
        faulthandler.cancel_dump_traceback_later()
        log.write(json.dumps({"case": n, "code": code, "out": out.getvalue()[-4000:], "err": err.getvalue()[-4000:],
                              "seconds": time.perf_counter() - start}) + "\\n")
        log.flush()
"""


def _resolve(args: list[str], tmp: Path) -> list[str]:
    """@fifo, @deep_json, @deep_json_text, @tmp in a case's arguments."""
    deep = '{"a":' * 60_000 + "1" + "}" * 60_000
    fifo = tmp / "pipe.yaml"
    if not fifo.exists():
        os.mkfifo(fifo)
        os.mkfifo(tmp / "pipe.py")
        (tmp / "deep.json").write_text(deep)
        (tmp / "out").mkdir()
    subst = {"@fifo": str(fifo), "@deep_json": str(tmp / "deep.json"), "@deep_json_text": deep,
             "@tmp": str(tmp / "out")}  # fmt: skip
    return [subst.get(a, a.replace("@tmp/", str(tmp / "out") + "/").replace("@fifo_py:", str(tmp / "pipe.py") + ":"))
            for a in args]  # fmt: skip


@pytest.mark.slow
def test_hostile_cases_under_memory_and_time_limits(tmp_path: Path) -> None:
    """Every case of cases.yml (files, CLI values, Python targets): its exit code and message, never a traceback,
    each case ending (a hang detector, not a speed test: HANG_SECONDS), the whole run under a 3 GiB address-space
    limit (torch included)."""
    import json
    import subprocess
    import sys

    cases = [_resolve(c["args"], tmp_path) for c in CASES]
    log = tmp_path / "log.jsonl"
    proc = subprocess.run([sys.executable, "-c", HARNESS, str(3 * 2**30), str(HANG_SECONDS), str(log)],
                          input=json.dumps(cases), capture_output=True, text=True, timeout=HANG_SECONDS * len(cases),
                          cwd=HERE)  # fmt: skip
    records = [json.loads(line) for line in log.read_text().splitlines()]
    done = {r["case"]: r for r in records if "case" in r}
    started = [r["start"] for r in records if "start" in r]
    hung = [n for n in started if n not in done]
    assert not hung, f"case {CASES[hung[0]]['args']} did not end: {proc.stderr[-3000:]}"
    failures = []
    for n, case in enumerate(CASES):
        r = done[n]
        err_lines = r["err"].splitlines()
        want_lines = case.get("lines", 1 if case["exit"] == 2 else None)
        problems = [
            f"exit {r['code']}, expected {case['exit']}" if r["code"] != case["exit"] else "",
            f"stderr lacks {case['err']!r}" if "err" in case and case["err"] not in r["err"] else "",
            f"stdout lacks {case['out']!r}" if "out" in case and case["out"] not in r["out"] else "",
            f"{len(err_lines)} stderr lines, expected {want_lines}"
            if want_lines is not None and len(err_lines) != want_lines
            else "",
            "a traceback" if "Traceback" in r["err"] + r["out"] else "",
            "an internal error" if "internal error" in r["err"] else "",
            "a raw escape character" if "\x1b" in r["err"] + r["out"] else "",
            "stdout is not JSON" if case.get("json") and not _is_json(r["out"]) else "",
        ]
        if any(problems):
            failures.append(f"{case['args']}: {'; '.join(p for p in problems if p)}\n  stderr: {r['err'][:600]!r}")
    assert not failures, "\n".join(failures)


def _is_json(text: str) -> bool:
    import json

    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("command", ["shapes", "check"])
def test_a_thread_the_target_never_ends_does_not_keep_cnncalc_running(command: str) -> None:
    """The program exits with its code although a Python target left a non-daemon thread spinning."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "cnncalc", command, "targets/threads_forever.py:Net", "--input", "4"],
                          capture_output=True, text=True, timeout=HANG_SECONDS, cwd=HERE)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_default_time_limit_comes_from_the_environment_and_the_option_wins() -> None:
    """$CNNCALC_TIMEOUT sets the default --timeout (a slow CI machine raises it); an explicit --timeout wins."""
    deep = str(HERE / "huge" / "deep_100k.yaml")
    result = CliRunner().invoke(main, ["shapes", deep, "--no-verify"], env={"CNNCALC_TIMEOUT": "0.5"})
    assert result.exit_code == 2
    assert "did not finish within the time limit of 0.5 s (--timeout)" in result.stderr
    result = CliRunner().invoke(main, ["shapes", deep, "--no-verify", "--timeout", "1"], env={"CNNCALC_TIMEOUT": "0.5"})
    assert result.exit_code == 2
    assert "did not finish within the time limit of 1 s (--timeout)" in result.stderr
    result = CliRunner().invoke(main, ["shapes", deep, "--no-verify"], env={"CNNCALC_TIMEOUT": "soon"})
    assert result.exit_code == 2 and "$CNNCALC_TIMEOUT is 'soon'" in result.stderr and "Traceback" not in result.stderr


def test_library_calls_take_the_default_time_limit_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The core (pipeline, checks, the API's own limits) reads $CNNCALC_TIMEOUT where no limit was given."""
    from cnncalc import budget
    from cnncalc.pipeline import shapes

    monkeypatch.setenv("CNNCALC_TIMEOUT", "0.5")
    assert budget.timeout() == 0.5
    with budget.limits(7):
        assert budget.timeout() == 7
    with pytest.raises(CnnCalcError, match=r"within the time limit of 0\.5 s"):
        shapes(HERE / "huge" / "deep_100k.yaml", verify=False)
    monkeypatch.setenv("CNNCALC_TIMEOUT", "0")
    assert budget.timeout() is None
    monkeypatch.setenv("CNNCALC_TIMEOUT", "later")
    assert budget.timeout() == budget.DEFAULT_TIMEOUT
