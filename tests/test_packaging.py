"""The release: one version, ``cnncalc --version``, and what the built sdist and wheel must contain.

The build tests read the source tree; .ci/run runs them in the repository, and the rest of the suite
against the installed wheel from a copy of tests/ (where they skip).
"""

from __future__ import annotations

import email.parser
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import cnncalc

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "cnncalc"
HAS_SOURCE = (SOURCE / "__init__.py").is_file() and (ROOT / "pyproject.toml").is_file()
needs_source = pytest.mark.skipif(not HAS_SOURCE, reason="builds from the source tree, which is not here")

EXTRAS = ("draw", "notebook", "jupyter", "keras", "web", "dev")


def torch_version() -> str | None:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def installed_metadata() -> importlib.metadata.PackageMetadata:
    try:
        return importlib.metadata.metadata("cnncalc")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("cnncalc is not installed (pip install -e .), only importable")


# --- one version, and --version ------------------------------------------------------------------


def test_version_is_the_installed_metadata() -> None:
    """``__version__`` is what the installed distribution says (editable or wheel): one place."""
    assert cnncalc.__version__ == installed_metadata()["Version"]


@needs_source
def test_version_is_defined_once() -> None:
    """pyproject.toml reads the version from cnncalc/__init__.py; it writes none itself."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "cnncalc.__version__"}
    literal = re.findall(r'^__version__ = "([^"]+)"$', (SOURCE / "__init__.py").read_text(encoding="utf-8"), re.M)
    assert literal == [cnncalc.__version__]


def test_changelog_has_this_version() -> None:
    changelog = ROOT / "CHANGELOG.md"
    if not changelog.is_file():
        pytest.skip("CHANGELOG.md is not beside tests/")
    entries = re.findall(r"^## \[([^\]]+)\]", changelog.read_text(encoding="utf-8"), re.M)
    assert entries and entries[0] == cnncalc.__version__, entries


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_command(flag: str, tmp_path: Path) -> None:
    """cnncalc's version and the torch version it verifies with, both from the installed metadata."""
    out = subprocess.run([sys.executable, "-m", "cnncalc", flag], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    torch = torch_version()
    if torch:  # the version read from the metadata is the torch that verification imports
        imported = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                                  text=True, cwd=tmp_path)  # fmt: skip
        assert imported.stdout.strip() == torch, imported.stderr
    tail = f"verifies with torch {torch}" if torch else "torch is not installed"
    assert out.stdout.startswith(f"cnncalc {cnncalc.__version__} ({tail}")
    assert out.stdout.count("\n") == 1 and out.stderr == ""


def test_version_does_not_import_torch(tmp_path: Path) -> None:
    code = ("import sys\nfrom cnncalc.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\nprint(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sympy')))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "[]"


def test_version_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    from cnncalc.cli import version_text

    real = importlib.metadata.version

    def version(name: str) -> str:
        if name == "torch":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert version_text() == (f"cnncalc {cnncalc.__version__} "
                              "(torch is not installed: it is needed to verify (pip install torch))")  # fmt: skip


def test_installed_metadata() -> None:
    """Licence, extras, entry points and classifiers as a user's pip sees them (editable or wheel)."""
    meta = installed_metadata()
    assert meta["License-Expression"] == "MIT"
    assert set(EXTRAS) <= set(meta.get_all("Provides-Extra") or [])
    assert "Typing :: Typed" in (meta.get_all("Classifier") or [])
    assert any(r.startswith("torch") for r in meta.get_all("Requires-Dist") or [])
    scripts = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts") if e.dist and
               e.dist.name == "cnncalc"}  # fmt: skip
    assert scripts == {"cnncalc": "cnncalc.cli:entry", "cnncalc-check-files": "cnncalc.precommit:main"}


# --- the built sdist and wheel --------------------------------------------------------------------


def source_files() -> list[str]:
    """Files the repository holds (git's list when this is a checkout, else the tree without caches)."""
    if shutil.which("git") and (ROOT / ".git").exists():
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                             capture_output=True, text=True, cwd=ROOT, check=True)  # fmt: skip
        return sorted(f for f in out.stdout.split("\0") if f and (ROOT / f).is_file())
    skip = {"__pycache__", ".venv", ".ci-venv", "build", "dist", ".git", ".hypothesis"}
    return sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                  if p.is_file() and not skip & set(p.relative_to(ROOT).parts) and p.suffix != ".pyc")  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``python -m build``: the sdist, then the wheel built from the unpacked sdist (as PyPI users get it)."""
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "build", "--outdir", str(out)]
    try:  # the running environment's setuptools when it is recent enough: no download
        from packaging.version import Version

        if Version(importlib.metadata.version("setuptools")) >= Version("77"):
            cmd.append("--no-isolation")
    except (ImportError, importlib.metadata.PackageNotFoundError):
        pass
    result = subprocess.run([*cmd, str(ROOT)], capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": ""})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = out.glob("cnncalc-*.tar.gz")
    (wheel,) = out.glob("cnncalc-*.whl")
    return sdist, wheel


@needs_source
@pytest.mark.slow
def test_wheel_contents(built: tuple[Path, Path]) -> None:
    """Every file of the package (each module, py.typed, the web page's assets, any data a command reads),
    its licence and metadata; nothing else (no tests, no caches)."""
    _, wheel = built
    version = cnncalc.__version__
    info = f"cnncalc-{version}.dist-info"
    assert wheel.name == f"cnncalc-{version}-py3-none-any.whl"
    names = set(zipfile.ZipFile(wheel).namelist())
    package = {f for f in source_files() if f.startswith("cnncalc/")}
    assert "cnncalc/py.typed" in package
    assert not package - names, f"missing from the wheel: {sorted(package - names)}"
    extra = {n for n in names if not n.startswith(f"{info}/")} - package
    assert not extra, f"in the wheel but not in the package: {sorted(extra)}"
    assert not [n for n in names if n.endswith((".pyc", ".pyo")) or "__pycache__" in n]
    assert {f"{info}/METADATA", f"{info}/entry_points.txt", f"{info}/licenses/LICENSE", f"{info}/RECORD"} <= names
    with zipfile.ZipFile(wheel) as z:
        assert z.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        meta = email.parser.BytesParser().parsebytes(z.read(f"{info}/METADATA"))
        entry_points = z.read(f"{info}/entry_points.txt").decode()
    assert meta["Name"] == "cnncalc" and meta["Version"] == version
    assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"]
    assert set(EXTRAS) <= set(meta.get_all("Provides-Extra"))
    assert "Typing :: Typed" in meta.get_all("Classifier")
    assert meta.get_all("Project-URL") and meta["Author"] == "cnncalc contributors"
    assert meta.get_payload().startswith("# cnncalc"), "the README is the long description"
    assert (
        "cnncalc = cnncalc.cli:entry" in entry_points and "cnncalc-check-files = cnncalc.precommit:main" in entry_points
    )


@needs_source
@pytest.mark.slow
def test_sdist_carries_the_suite(built: tuple[Path, Path]) -> None:
    """The sdist holds what the test suite reads, so a packager can test the wheel it builds from it."""
    sdist, _ = built
    top = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.removeprefix(f"{top}/") for n in tar.getnames()}
    wanted = {f for f in source_files() if f.split("/")[0] in ("cnncalc", "tests", "examples", "docs", "benchmarks")}
    wanted |= {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "constraints.txt", ".pre-commit-hooks.yaml"}
    assert not wanted - names, f"missing from the sdist: {sorted(wanted - names)}"
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]


@needs_source
@pytest.mark.slow
def test_twine_check(built: tuple[Path, Path]) -> None:
    pytest.importorskip("twine")
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, built)],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@needs_source
@pytest.mark.slow
def test_wheel_alone_runs_the_main_job(built: tuple[Path, Path], tmp_path: Path) -> None:
    """The wheel unpacked on its own (dependencies from this environment), away from the repository:
    the command and the library run, with nothing read from the source tree."""
    _, wheel = built
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "examples" / "cifar_cnn.yaml", work)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import cnncalc; print(cnncalc.__file__)"], capture_output=True,
                           text=True, cwd=work, env=env)  # fmt: skip
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr
    run = subprocess.run([sys.executable, "-m", "cnncalc", "shapes", "cifar_cnn.yaml", "--no-verify", "--format", "json"],
                         capture_output=True, text=True, cwd=work, env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert '"total_params"' in run.stdout
