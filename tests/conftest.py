"""Shared test set-up: hypothesis profiles and the golden-file switch."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# "ci": 11 single-layer tests x 185 = 2,035 random layers and 4 network tests x 185 = 740 random
# networks, about a minute on 2 cores. "deep" runs 10x more, for local use:
#   pytest --hypothesis-profile=deep
settings.register_profile(
    "ci", max_examples=185, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("deep", max_examples=1850, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_report_header(config: pytest.Config) -> str:
    """Which cnncalc the suite tests: the source tree, or (in .ci/run) the installed wheel."""
    import cnncalc

    return f"cnncalc {cnncalc.__version__} from {os.path.dirname(cnncalc.__file__)}"


def pytest_configure(config: pytest.Config) -> None:
    """With CNNCALC_TEST_INSTALLED=1 (.ci/run), refuse to test anything but an installed cnncalc."""
    if os.environ.get("CNNCALC_TEST_INSTALLED") == "1":
        import sysconfig

        import cnncalc

        where = os.path.realpath(cnncalc.__file__)
        sites = {os.path.realpath(sysconfig.get_path(k)) for k in ("purelib", "platlib")}
        if not any(where.startswith(site + os.sep) for site in sites):
            raise pytest.UsageError(f"CNNCALC_TEST_INSTALLED=1 but cnncalc is imported from {where}, not from {sites}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite tests/golden/* from the current output.")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fuzzers' figures and their coverage table (type, argument, value classes drawn), when they ran."""
    from . import generators

    if not generators.COVERAGE:
        return
    from .test_fuzz_format import STATS

    tr = terminalreporter
    tr.section("format fuzzer: what it drew")
    tr.write_line(", ".join(f"{k} {v:,}" for k, v in STATS.items()))
    rows: dict[str, dict[str, dict[str, int]]] = {}
    for (name, arg, kind), n in sorted(generators.COVERAGE.items()):
        rows.setdefault(name, {}).setdefault(arg or "(merge)", {})[kind] = n
    for name, args in rows.items():
        cells = "  ".join(f"{a}[{' '.join(f'{k} {n}' for k, n in kinds.items())}]" for a, kinds in args.items())
        tr.write_line(f"{name}: {cells}")
