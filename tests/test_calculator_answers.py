"""The calculators' answers to --out-size with unknowns: the conventional answer first, refusals counted.

Every solution listed (``--verbose``: all of them) is judged by torch itself: an accepted one gives the asked
output size, a refused one is refused by torch; the default output counts the refused ones in one line.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.calculators import conventional
from cnncalc.cli import main

_LINE = re.compile(r"^  ((?:\w+ = \d+(?:, )?)+): (accepted|refused)")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def listed(out: str) -> list[tuple[dict[str, int], bool]]:
    """The solution lines: their values and whether accepted."""
    found = []
    for line in out.splitlines():
        m = _LINE.match(line)
        if m is not None:
            values = {k: int(v) for k, v in (p.split(" = ") for p in m.group(1).split(", "))}
            found.append((values, m.group(2) == "accepted"))
    return found


def torch_size(command: str, size: list[int], values: dict[str, int], given: dict[str, int]) -> Any:
    """The output spatial size torch gives (one value per dim), or the exception it raises."""
    n = len(size)
    q = {**given, **values}

    def per(name: str, default: int) -> tuple[int, ...]:
        if name in q:
            return (q[name],) * n
        got = tuple(q.get(f"{name}_{d}") for d in "dhw"[3 - n :])
        return default if all(v is None for v in got) else got  # type: ignore[return-value]

    try:
        if command == "pool":
            k = per("k", 1)
            m: Any = getattr(torch.nn, f"MaxPool{n}d")(k, per("s", k) if "s" in q else k, per("p", 0))  # type: ignore[arg-type]
        elif command == "conv":
            m = getattr(torch.nn, f"Conv{n}d")(1, 1, per("k", 1), per("s", 1), per("p", 0))
        else:
            m = getattr(torch.nn, f"ConvTranspose{n}d")(1, 1, per("k", 1), per("s", 1), per("p", 0))
        with torch.no_grad():
            return list(m(torch.zeros(1, 1, *size)).shape[2:])
    except RuntimeError as e:
        return e


def test_a_pool_that_halves_is_k2_s2_first_and_the_refusals_are_one_line() -> None:
    args = ["pool", "32x32", "--out-size", "16x16", "-k", "auto", "-s", "auto", "-p", "auto", "--no-verify"]
    code, out, _ = run(*args)
    assert code == 0
    assert "--limit" not in out
    lines = listed(out)
    assert lines[0] == ({"k": 2, "s": 2, "p": 0}, True)
    assert "Working for k = 2, s = 2, p = 0:" in out
    assert sum("refused" in line for line in out.splitlines()) == 1  # one line counts them
    assert len(out.splitlines()) < 40
    n_refused = int(re.search(r"(\d+) more refused by torch's rules, e\.g\. ", out).group(1))  # type: ignore[union-attr]
    code, verbose, _ = run(*args, "--verbose")
    assert code == 0
    every = listed(verbose)
    assert sum(not ok for _, ok in every) == n_refused and len(every) > len(lines)


@pytest.mark.parametrize("args, first", [
    (["conv", "32x32", "--out-size", "16x16", "-k", "auto", "-s", "auto", "-p", "auto"], {"k": 3, "s": 2, "p": 1}),
    (["conv", "28", "--out-size", "28", "-k", "auto", "-p", "auto"], {"k": 1, "p": 0}),
    (["conv", "28", "--out-size", "28", "-k", "3", "-p", "auto"], {"p": 1}),
    (["convt", "16", "--out-size", "32", "-k", "auto", "-s", "auto", "-p", "auto"], {"k": 2, "s": 2, "p": 0}),
    (["pool", "11", "--out-size", "3", "-k", "auto", "-s", "auto", "-p", "1"], {"k": 4, "s": 4}),
])  # fmt: skip
def test_the_conventional_answer_comes_first(args: list[str], first: dict[str, int]) -> None:
    code, out, _ = run(*args, "--no-verify")
    assert code == 0 and listed(out)[0] == (first, True), out


def test_the_ordering_rule() -> None:
    """Covering windows first; then tiling pools, odd 'same'-padded convolutions, kernels that are multiples of
    the transposed stride; then the least padding beyond half the kernel; then the smaller kernel."""
    key = conventional
    assert key("MaxPool2d", [2], [2], [0], [1], [0]) < key("MaxPool2d", [1], [2], [0], [1], [0])  # k < s: gaps
    assert key("MaxPool2d", [3], [2], [1], [1], [0]) > key("MaxPool2d", [2], [2], [0], [1], [0])
    assert key("Conv2d", [3], [2], [1], [1], [0]) < key("Conv2d", [2], [2], [0], [1], [0])
    assert key("Conv2d", [3], [1], [1], [2], [0]) > key("Conv2d", [3], [1], [2], [2], [0])  # same for d=2: p=2
    assert key("ConvTranspose2d", [4], [2], [1], [1], [0]) < key("ConvTranspose2d", [3], [2], [0], [1], [1])


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["pool", "conv", "convt"]), st.integers(1, 2), st.integers(4, 24), st.integers(1, 3),
       st.sampled_from(["ks", "kp", "sp", "ksp"]))  # fmt: skip
def test_every_listed_solution_is_torchs(command: str, n: int, size: int, k: int, unknown: str) -> None:
    """Random sizes: the solutions listed with --verbose are exactly judged by torch (accepted: the size)."""
    truth = torch_size(command, [size] * n, {"k": k, "s": 2, "p": k // 2}, {})
    if isinstance(truth, Exception):
        return
    out_size = "x".join(map(str, truth))
    flags = {"k": "-k", "s": "-s", "p": "-p"}
    given_values = {"k": k, "s": 2, "p": k // 2}
    args = [command, "x".join([str(size)] * n), "--out-size", out_size, "--no-verify", "--verbose", "--max", "12"]
    for q, flag in flags.items():
        args += [flag, "auto" if q in unknown else str(given_values[q])]
    code, out, err = run(*args)
    assert code in (0, 1), err
    fixed = {q: v for q, v in given_values.items() if q not in unknown}
    solutions = listed(out)
    assert solutions, out
    for values, accepted in solutions:
        got = torch_size(command, [size] * n, values, fixed)
        if accepted:
            assert got == truth, (values, got)
        else:
            assert isinstance(got, Exception), (values, got)
    ranked = [conventional_of(command, n, {**fixed, **v}) for v, _ in solutions]
    assert ranked == sorted(ranked)  # listed in the documented order


def conventional_of(command: str, n: int, q: dict[str, int]) -> tuple[int, ...]:
    kind = {"pool": "MaxPool", "conv": "Conv", "convt": "ConvTranspose"}[command] + f"{n}d"
    return conventional(kind, [q["k"]] * n, [q["s"]] * n, [q["p"]] * n, [1] * n, [0] * n)
