"""Hostile and broken input: one pinned line, exit 2, no traceback, bounded time.

Each file in tests/bad_inputs/ starts with ``# expect: LINE:COL: error: ...``:
the exact message cnncalc must print after ``FILE:``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

CORPUS = sorted((Path(__file__).parent / "bad_inputs").glob("*.yaml"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_bad_input_message_is_pinned(path: Path) -> None:
    expected = path.read_text().splitlines()[0].removeprefix("# expect: ")
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
def timeout(*_): raise TimeoutError
signal.signal(signal.SIGALRM, timeout)
out = {}
for path in sys.argv[1:]:
    start = time.perf_counter()
    signal.alarm(20)
    try:
        main(["shapes", path, "--no-verify"], standalone_mode=True)
        code = 0
    except SystemExit as e:
        code = e.code
    signal.alarm(0)
    out[path] = [code, time.perf_counter() - start]
print(json.dumps(out))
"""


def test_corpus_runs_in_bounded_time_and_memory() -> None:
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", BOUNDED, *map(str, CORPUS)], capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for path, (code, seconds) in results.items():
        assert code == 2, path
        assert seconds < 10, f"{path} took {seconds:.1f} s"
