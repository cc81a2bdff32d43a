"""Regenerate the pictures of the README (docs/figures/*.svg), each verified by torch.

    python docs/make_figures.py          # write docs/figures/*.svg
    python docs/make_figures.py --png    # also write PNGs next to them, to look at

tests/test_draw.py checks that the committed SVGs are what this script draws.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "figures"


def figures(verify: bool = True) -> dict[str, Any]:
    """Name -> Figure, for every README picture."""
    from cnncalc.analysis.unitfield import unit_field
    from cnncalc.convolve import convolve, parse_matrix
    from cnncalc.pipeline import shapes
    from cnncalc.render import draw

    out: dict[str, Any] = {}
    examples = ROOT / "examples"
    resnet = shapes(examples / "resnet50.yaml", verify=verify, device="cpu")
    out["resnet50"] = draw.network(resnet, collapse=True)
    out["unet"] = draw.network(shapes(examples / "unet.yaml", verify=verify, device="cpu"), collapse=True)
    homework = shapes(examples / "homework" / "q3_receptive_field.yaml", {"A": 11}, verify=verify, device="cpu")
    field = unit_field(homework.defaults, len(homework.defaults.layers) - 1)
    if verify:
        from cnncalc.verify.unitfield import confirm

        field = confirm(field)
    out["rf_homework"] = draw.receptive_field(field)
    image = parse_matrix("1 0 2 3 1; 3 2 0 7 0; 0 6 1 1 4; 2 2 5 0 1; 1 3 0 2 2", "--image")
    kernel = parse_matrix("-1 0 1; -2 0 2; -1 0 1", "--kernel")
    out["convolve"] = draw.convolution(convolve(image, kernel, 1), image, (1, 2))
    assert all(isinstance(v, draw.Figure) for v in out.values())
    return out


def main(argv: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, figure in figures().items():
        figure.save(OUT / f"{name}.svg")
        if "--png" in argv:
            figure.save(OUT / f"{name}.png")
        print(f"wrote {OUT.relative_to(ROOT) / name}.svg")


if __name__ == "__main__":
    main(sys.argv[1:])
