"""The random model-source generator (tests/pymodel_generator.py) against plain torch.

A quick run of a few models in the default suite; the deep run is marked slow (and is also
``python -m benchmarks.pymodel_fuzz``). Every verdict, parameter count, accepted size and symbolic output
shape must agree with torch's brute force, nothing may exit 3, and correct models must trace.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pymodel_generator import BROKEN, generate, run, table


@pytest.mark.slow
def test_the_generator_draws_every_broken_kind_and_idiom_in_a_known_share() -> None:
    models = [generate(seed) for seed in range(300)]
    kinds = {m.broken for m in models}
    assert kinds >= set(BROKEN)
    share = sum(1 for m in models if m.broken) / len(models)
    assert 0.15 < share < 0.35
    assert sum(m.notebook for m in models) > 20


def test_quick_generated_models_agree_with_torch(tmp_path: Path) -> None:
    summary = run(2, tmp_path, seed=7, points=12)
    assert not summary["disagreements"] and summary["exit3"] == 0, table(summary)
    assert summary["correct_traced"] == summary["correct"], table(summary)


@pytest.mark.slow
def test_deep_generated_models_agree_with_torch(tmp_path: Path) -> None:
    summary = run(60, tmp_path, seed=1000)
    print(table(summary))
    assert not summary["disagreements"] and summary["exit3"] == 0, table(summary)
    assert summary["correct_traced"] >= 0.95 * summary["correct"], table(summary)
