"""Deep run of the random model-source generator against plain torch: ``python -m benchmarks.pymodel_fuzz --n 200``.

Prints the coverage table of the idioms drawn, the traced share of the correct models, exit-3 count and
every disagreement (tests/pymodel_generator.py says what is compared).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main() -> int:
    """Run ``--n`` models from ``--seed``; exit 1 on any disagreement or exit 3."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.pymodel_generator import run, table

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100, help="how many models")
    parser.add_argument("--seed", type=int, default=0, help="the first model's seed")
    parser.add_argument("--points", type=int, default=40, help="random (H, W) pairs per model, besides squares")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        summary = run(args.n, Path(folder), args.seed, args.points)
    print(table(summary))
    return 1 if summary["disagreements"] or summary["exit3"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
