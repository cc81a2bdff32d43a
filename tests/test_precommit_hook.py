"""The pre-commit hook run by the real ``pre-commit`` tool, which builds the hook's own environment.

That environment installs cnncalc from this repository and torch from the package index: on Linux an
unpinned torch is a CUDA build of several GB. The test pins torch with ``PIP_CONSTRAINT`` (the
repository's constraints.txt, which pre-commit's pip reads from the environment) and runs only where
that pin resolves to a wheel on this machine (a ``file://`` download), so it never fetches torch.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"

pytestmark = pytest.mark.slow

GOOD = """cnncalc: 1
name: good
input: [3, 32, 32]
layers:
  - {type: Conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - {type: MaxPool2d, kernel_size: 2, expect: [8, 16, 16]}
"""
BAD = GOOD.replace("name: good", "name: bad").replace("expect: [8, 16, 16]", "expect: [8, 15, 15]")


def _skip_unless_possible() -> None:
    if not (ROOT / "cnncalc" / "__init__.py").is_file() or not (ROOT / ".pre-commit-hooks.yaml").is_file():
        pytest.skip("needs the source repository (pre-commit installs the hook from it)")
    if shutil.which("git") is None:
        pytest.skip("pre-commit needs git")
    pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install pre-commit)")
    probe = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps",
                            "--quiet", "--report", "-", "-c", str(CONSTRAINTS), "torch"],
                           capture_output=True, text=True)  # fmt: skip
    try:
        url = json.loads(probe.stdout)["install"][0]["download_info"]["url"]
    except (ValueError, KeyError, IndexError):
        pytest.skip(f"cannot tell where pip would get torch from: {probe.stderr.strip()[-300:]}")
    if not url.startswith("file://"):
        pytest.skip(f"the hook's environment would download torch ({url}); the test runs only with a local torch wheel")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A commit of this working tree's package files (uncommitted changes included), as a hook repository."""
    _skip_unless_possible()
    repo = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True)  # fmt: skip
    files = [f for f in listed.stdout.split("\0") if f] if listed.returncode == 0 else []
    wanted = [f for f in files if f.startswith("cnncalc/") or "/" not in f]
    if not any(f.startswith("cnncalc/") for f in wanted):
        pytest.skip("the source repository is not a git checkout")
    for f in wanted:
        if (ROOT / f).is_file():
            (repo / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, repo / f)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--no-gpg-sign", "-m", "hook")
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True)
    return repo, rev.stdout.strip()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: a git repository with architecture files and a model."""
    _git(tmp_path, "init", "-q")
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "net.py").write_text((ROOT / "tests" / "models" / "course_net.py").read_text(encoding="utf-8"))
    _git(tmp_path, "add", "-A")
    return tmp_path


def _pinned_torch() -> str:
    (pin,) = [line.strip() for line in CONSTRAINTS.read_text().splitlines() if line.startswith("torch==")]
    return pin


def _pre_commit(project: Path, home: Path, *args: str, constrain: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    if constrain:
        env["PIP_CONSTRAINT"] = str(CONSTRAINTS)
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=project, capture_output=True, text=True,
                          env=env, timeout=1800)  # fmt: skip


def test_try_repo_on_architecture_files(hook_repo: tuple[Path, str], project: Path, tmp_path: Path) -> None:
    """``pre-commit try-repo``: the good file passes, the broken expectation fails the hook, located."""
    repo, _ = hook_repo
    result = _pre_commit(project, tmp_path / "home", "try-repo", str(repo), "cnncalc-check", "--verbose",
                         "--files", "good.yaml", "bad.yaml")  # fmt: skip
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "cnncalc check" in out and "Failed" in out
    assert "bad.yaml:6:" in out and "expected output shape" in out, out
    assert "✓ shapes verified by torch" in out, out  # good.yaml, in the same run


def test_hook_on_a_model(hook_repo: tuple[Path, str], project: Path, tmp_path: Path) -> None:
    """The hook with a model target in ``args`` (pass_filenames: false), from a user's config that pins torch in
    additional_dependencies (the README's way to keep the environment small): one hook whose expectation holds
    passes, one whose expectation is wrong fails."""
    repo, rev = hook_repo
    pin = [_pinned_torch()]
    config = {"repos": [{"repo": str(repo), "rev": rev, "hooks": [
        {"id": "cnncalc-check", "name": "model ok", "alias": "ok", "files": r"^net\.py$", "pass_filenames": False,
         "args": ["net.py:Net", "--input", "3x28x28", "--expect-output", "53"], "additional_dependencies": pin},
        {"id": "cnncalc-check", "name": "model wrong", "alias": "wrong", "files": r"^net\.py$",
         "pass_filenames": False, "args": ["net.py:Net", "--input", "3x28x28", "--expect-output", "10"],
         "additional_dependencies": pin},
    ]}]}  # fmt: skip
    (project / ".pre-commit-config.yaml").write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    result = _pre_commit(project, tmp_path / "home", "run", "--verbose", "--files", "net.py", constrain=False)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    ok, wrong = out.index("model ok"), out.index("model wrong")
    assert "Passed" in out[ok:wrong] and "Failed" in out[wrong:], out
    assert "net.py:" in out[wrong:] and "expected 10 (--expect-output)" in out[wrong:], out


def test_local_system_hook(project: Path, tmp_path: Path) -> None:
    """The README's zero-cost form: a ``repo: local`` hook with ``language: system`` runs the cnncalc of the
    environment that runs pre-commit (no environment of its own, nothing installed)."""
    pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install pre-commit)")
    if shutil.which("git") is None:
        pytest.skip("pre-commit needs git")
    bindir = Path(sys.executable).parent
    if not (bindir / "cnncalc-check-files").exists():
        pytest.skip("cnncalc-check-files is not installed beside this Python")
    config = {"repos": [{"repo": "local", "hooks": [{"id": "cnncalc-check", "name": "cnncalc check", "language": "system",
              "entry": "cnncalc-check-files", "files": r"\.(ya?ml)$"}]}]}  # fmt: skip
    (project / ".pre-commit-config.yaml").write_text(json.dumps(config), encoding="utf-8")
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "PRE_COMMIT_HOME": str(tmp_path / "home"),
           "PRE_COMMIT_COLOR": "never"}  # fmt: skip
    run = [sys.executable, "-m", "pre_commit", "run", "--verbose", "--files"]
    good = subprocess.run([*run, "good.yaml"], cwd=project, capture_output=True, text=True, env=env, timeout=600)
    assert good.returncode == 0 and "Passed" in good.stdout, good.stdout + good.stderr
    bad = subprocess.run([*run, "good.yaml", "bad.yaml"], cwd=project, capture_output=True, text=True, env=env,
                         timeout=600)  # fmt: skip
    assert bad.returncode == 1 and "bad.yaml:6:" in bad.stdout and "Failed" in bad.stdout, bad.stdout + bad.stderr
    assert not any((tmp_path / "home").glob("repo*")), "a local system hook installs nothing"
