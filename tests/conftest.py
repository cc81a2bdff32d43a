"""Shared test set-up: hypothesis profiles and the golden-file switch."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# "ci": 11 single-layer tests x 185 = 2,035 random layers and 4 network tests x 185 = 740 random
# networks, about a minute on 2 cores. "deep" runs 10x more, for local use:
#   pytest --hypothesis-profile=deep
settings.register_profile(
    "ci", max_examples=185, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("deep", max_examples=1850, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# "quick": the quick subset (-m "not slow") draws fewer random cases, unless HYPOTHESIS_PROFILE says otherwise.
settings.register_profile(
    "quick", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# cnncalc's default time limit (30 s a model run or file) is a product limit, not a test condition: on a busy
# machine a heavy case could reach it and fail for no fault of its own. The tests of the limit pass --timeout.
os.environ.setdefault("CNNCALC_TIMEOUT", "600")


# The tests run over every example (draw, verify, golden) meet the large networks in the full suite only: the quick
# subset keeps each such test, on the small examples, and the one hostile file that takes seconds by design.
BIG = ("resnet18", "resnet50", "resnet20_cifar", "alexnet", "vgg16", "unet", "alias_bomb")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if any(any(big in str(v) for big in BIG) for v in params.values()):
            item.add_marker(pytest.mark.slow)


def pytest_report_header(config: pytest.Config) -> str:
    """Which cnncalc the suite tests: the source tree, or (in .ci/run) the installed wheel."""
    import cnncalc

    return f"cnncalc {cnncalc.__version__} from {os.path.dirname(cnncalc.__file__)}"


def pytest_configure(config: pytest.Config) -> None:
    """The slow marker, the quick subset's hypothesis profile; with CNNCALC_TEST_INSTALLED=1 (.ci/run), refuse to
    test anything but an installed cnncalc."""
    config.addinivalue_line("markers", "slow: a deep test (fuzzers, harnesses, lint), left out by -m 'not slow'")
    if config.getoption("markexpr", "") == "not slow" and "HYPOTHESIS_PROFILE" not in os.environ:
        settings.load_profile("quick")
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, a worker hands its share of the fuzzers' figures to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is None:
        return
    from . import generators
    from .test_fuzz_format import STATS

    workeroutput["fuzz_coverage"] = [[*key, n] for key, n in generators.COVERAGE.items()]
    workeroutput["fuzz_stats"] = dict(STATS)


def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller adds up what each worker drew (xdist's hook; unused without xdist)."""
    from . import generators
    from .test_fuzz_format import STATS

    out = getattr(node, "workeroutput", {})
    for name, arg, kind, n in out.get("fuzz_coverage", []):
        generators.COVERAGE[(name, arg, kind)] += n
    for k, v in out.get("fuzz_stats", {}).items():
        STATS[k] = STATS.get(k, 0) + v


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
