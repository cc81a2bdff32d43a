"""The receptive-field figure: the units one unit sees, at the input and at every layer on the way.

Each map is a grid drawn in oblique projection, the input at the bottom and the
chosen unit's layer at the top, as in the hand-drawn figures of course reports;
lines join the outlines of the shaded sets of consecutive maps. The shaded cells
are the exact set (holes from dilation and strided transposed convolutions
show), and with verification each set is the one the input gradients confirm;
a disagreement is drawn in red. Large maps are cropped around the shaded set.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...analysis.unitfield import UnitField
from ...errors import CnnCalcError
from ...graph.expand import INPUT
from .boxes import op_text
from .conv import UNITS
from .figure import Figure, heading
from .scene import Line, Poly, Scene, Text

KX, KY = 0.55, 0.42  # the oblique axis of the rows, per cell
PLANE_GAP = 46.0
MAX_CELLS = 32  # a map with more rows or columns is cropped around the set
MAX_PLANES = 8
MERGE = 48  # maps with more rows or columns draw runs of cells
SHADE, UNIT, EMPTY, WRONG, GRID = "#3b78c2", "#ef6c00", "#ffffff", "#d32f2f", "#b0b0b0"


@dataclass(frozen=True)
class Plane:
    """One map as drawn: which node, the rows and columns shown, and where its cell (r0, c0) lies."""

    node: int
    rows: tuple[int, int]  # first and last row shown
    cols: tuple[int, int]
    x: float  # front-left corner of the front row's first cell (the last row shown)
    y: float
    cell: float

    def corner(self, r: float, c: float) -> tuple[float, float]:
        """The screen point of grid corner (r, c), in cells from the first row and column shown."""
        back = (self.rows[1] - self.rows[0] + 1) - r  # rows recede up and to the right
        return (self.x + c * self.cell + back * self.cell * KX, self.y - back * self.cell * KY)

    def centre(self, row: int, col: int) -> tuple[float, float]:
        """The centre of the cell of map unit (row, col)."""
        return self.corner(row - self.rows[0] + 0.5, col - self.cols[0] + 0.5)

    def cell_poly(self, row: int, col: int) -> tuple[tuple[float, float], ...]:
        r, c = row - self.rows[0], col - self.cols[0]
        return (self.corner(r + 1, c), self.corner(r + 1, c + 1), self.corner(r, c + 1), self.corner(r, c))


def _grid2(field: UnitField, i: int) -> tuple[int, int, set[tuple[int, int]]]:
    """Rows, columns and the set as (row, col) pairs; a 1-d map is one row."""
    shape = field.shape(i)
    if len(shape) == 2:
        return 1, shape[1], {(0, u[0]) for u in field.sets[i]}
    return shape[1], shape[2], {(u[0], u[1]) for u in field.sets[i]}


def _window(n: int, used: list[int]) -> tuple[int, int]:
    if n <= MAX_CELLS or not used:
        return 0, n - 1
    lo, hi = max(0, min(used) - 2), min(n - 1, max(used) + 2)
    return lo, hi


def planes_of(field: UnitField) -> list[int]:
    """The maps drawn: the input, the chosen layer, and between them every map whose set or size changes."""
    out: list[int] = []
    for i in field.path:
        if (
            out
            and field.sets[i] == field.sets[out[-1]]
            and field.shape(i)[1:] == field.shape(out[-1])[1:]
            and i != field.layer
        ):
            continue  # the same units of a map of the same size: keep the layer that made it
        out.append(i)
    if len(out) > MAX_PLANES:
        middle = out[1:-1]
        step = len(middle) / (MAX_PLANES - 2)
        out = [out[0], *(middle[int(k * step)] for k in range(MAX_PLANES - 2)), out[-1]]
    return out


def draw_receptive_field(field: UnitField, title: str | None = None) -> Figure:
    """The stacked-grid figure of ``field`` (see the module docstring)."""
    rank = len(field.analysis.graph.input_shape)
    if rank not in (2, 3):
        raise CnnCalcError(f"the receptive-field figure draws 1-d and 2-d maps; this input has {rank - 1} spatial dims",
                           None, "use cnncalc rf without --draw for the numbers")  # fmt: skip
    chosen = planes_of(field)
    grids = {i: _grid2(field, i) for i in chosen}
    windows = {}
    for i, (rows, cols, cells) in grids.items():
        windows[i] = (_window(rows, [r for r, _ in cells]), _window(cols, [c for _, c in cells]))
    widest = max(w[1][1] - w[1][0] + 1 + (w[0][1] - w[0][0] + 1) * KX for w in windows.values())
    cell = max(4.0, min(22.0, 460.0 / widest))
    scene = Scene()
    planes: list[Plane] = []
    y = 0.0
    for i in chosen:
        (r0, r1), (c0, c1) = windows[i]
        depth = (r1 - r0 + 1) * cell
        width = (c1 - c0 + 1) * cell + depth * KX
        plane = Plane(i, (r0, r1), (c0, c1), -width / 2, y, cell)
        planes.append(plane)
        y -= depth * KY + PLANE_GAP
    labels_x = max(p.corner(0, p.cols[1] - p.cols[0] + 1)[0] for p in planes) + 14  # one column, right of every
    for k, plane in enumerate(planes):  # plane and so of every cone line: no line crosses a label
        if k:
            _cone(scene, planes[k - 1], grids[planes[k - 1].node][2], plane, grids[plane.node][2])
        _plane(scene, field, plane, grids[plane.node][2], labels_x)
    unit = ", ".join(map(str, field.unit))
    name = field.name(field.layer)
    seen = len(field.sets[INPUT])
    line = (f"receptive field of unit ({unit}) of {name}: {seen} input units"
            + (f", a {_hull_text(grids[INPUT][2])} region" if _is_box(grids[INPUT][2]) else f" ({_hull_text(grids[INPUT][2])} hull, with holes)" if seen else ""))  # fmt: skip
    if field.confirmed is not None:
        note = ("every shaded set confirmed unit for unit by torch input gradients" if not field.disagreements else
                "MISMATCH: torch input gradients differ where marked in red")  # fmt: skip
    else:
        note = f"NOT checked by torch ({field.unchecked or '--no-verify'})"
    heading(scene, title if title is not None else line, f"{note}; {UNITS}")
    scene.meta["planes"] = planes
    return Figure(scene.finish(), title or line)


def _hull_text(cells: set[tuple[int, int]]) -> str:
    if not cells:
        return "empty"
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    return f"{max(rows) - min(rows) + 1}×{max(cols) - min(cols) + 1}"


def _span(cells: set[tuple[int, int]], one: bool) -> str:
    if not cells:
        return ""
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    if one:
        return f" ({min(cols)}–{max(cols)})"
    return f" (rows {min(rows)}–{max(rows)}, cols {min(cols)}–{max(cols)})"


def _is_box(cells: set[tuple[int, int]]) -> bool:
    if not cells:
        return False
    rows = [r for r, _ in cells]
    cols = [c for _, c in cells]
    return len(cells) == (max(rows) - min(rows) + 1) * (max(cols) - min(cols) + 1)


GRID_STEPS = (1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100)
MIN_SPACING = 6.0  # pixels between drawn grid lines: closer ones beat against the pixels (moiré)


def grid_step(cell: float) -> int:
    """Every how many units a grid line is drawn: the receding rows are ``cell·KY`` apart on screen."""
    return next((k for k in GRID_STEPS if k * cell * KY >= MIN_SPACING), GRID_STEPS[-1])


def _plane(scene: Scene, field: UnitField, p: Plane, cells: set[tuple[int, int]], labels_x: float) -> None:
    (r0, r1), (c0, c1) = p.rows, p.cols
    nr, nc = r1 - r0 + 1, c1 - c0 + 1
    outline = (p.corner(nr, 0), p.corner(nr, nc), p.corner(0, nc), p.corner(0, 0))
    scene.add(Poly(outline, EMPTY, "#555555", 1.2, role="plane", data={"node": field.name(p.node)}))
    confirmed = field.confirmed.get(p.node) if field.confirmed is not None else None
    one = len(field.analysis.graph.input_shape) == 2
    wrong = set()
    if confirmed is not None:
        got = {(0, u[0]) if one else (u[0], u[1]) for u in confirmed}
        wrong = got ^ cells
    runs: list[tuple[int, int, int, str]] = []  # row, first and last column, colour
    for r, c in sorted(cells | wrong):
        if r0 <= r <= r1 and c0 <= c <= c1:
            colour = WRONG if (r, c) in wrong else UNIT if p.node == field.layer else SHADE
            if runs and max(nr, nc) > MERGE and runs[-1][0] == r and runs[-1][2] == c - 1 and runs[-1][3] == colour:
                runs[-1] = (r, runs[-1][1], c, colour)  # a large map: one shape per run of cells, not per cell
            else:
                runs.append((r, c, c, colour))
    for r, first, last, colour in runs:
        data = {"node": field.name(p.node), "row": str(r), "col": str(first)}
        if last != first:
            data["cols"] = f"{first}-{last}"
        head, tail = p.cell_poly(r, first), p.cell_poly(r, last)
        scene.add(Poly((head[0], tail[1], tail[2], head[3]), colour, colour, 0.5, role="cell", data=data))
    step = grid_step(p.cell)  # lines at units 0, step, 2·step, ... (their indices, not the crop's)
    lines = [(p.corner(k, 0), p.corner(k, nc)) for k in range(1, nr) if (r0 + k) % step == 0]
    lines += [(p.corner(0, k), p.corner(nr, k)) for k in range(1, nc) if (c0 + k) % step == 0]
    for a, b in lines:
        scene.add(Line((a, b), GRID, 0.6 if step == 1 else 0.5, role="grid"))
    scene.add(Poly(outline, "none", "#444444", 1.2, role="plane-outline"))
    shape = field.shape(p.node)
    size = "×".join(map(str, shape[1:]))
    crop = ""
    if (nr, nc) != ((1 if one else shape[1]), shape[-1]):
        crop = f"; shown: rows {r0}–{r1}, cols {c0}–{c1}" if not one else f"; shown: {c0}–{c1}"
    what = "input" if p.node == INPUT else f"{field.name(p.node)} · {op_text(field.analysis.layers[p.node])}"
    if p.node == field.layer:
        detail = f"unit ({', '.join(map(str, field.unit))}) of {size}"
    else:
        hull = _hull_text(cells)
        detail = (
            f"{len(cells)} unit{'s' if len(cells) != 1 else ''}"
            + (f" = {hull}" if _is_box(cells) else f" in a {hull} hull")
            + _span(cells, one)
        )
        detail += f" of {size}"
    if step > 1 and max(nr, nc) > step:
        crop += f"; grid every {step} units"
    x, y = labels_x, p.corner(nr / 2, nc)[1]
    scene.add(Text(x, y - 3, what, 11, "start", True, "#222222", role="plane-label"))
    scene.add(Text(x, y + 11, detail + crop, 10, "start", False, "#444444", role="plane-label"))
    if wrong:
        scene.add(Text(x, y + 24, f"✗ {len(wrong)} units differ from the input gradient", 10, "start", False, WRONG,
                       role="problem"))  # fmt: skip


def _cone(scene: Scene, lower: Plane, low: set[tuple[int, int]], upper: Plane, up: set[tuple[int, int]]) -> None:
    """Dashed lines from the corners of the shaded hull on one map to those on the next one up."""
    if not low or not up:
        return

    def corners(p: Plane, cells: set[tuple[int, int]]) -> list[tuple[float, float]]:
        rows = [r - p.rows[0] for r, _ in cells]
        cols = [c - p.cols[0] for _, c in cells]
        r0, r1 = max(0, min(rows)), min(p.rows[1] - p.rows[0] + 1, max(rows) + 1)
        c0, c1 = max(0, min(cols)), min(p.cols[1] - p.cols[0] + 1, max(cols) + 1)
        return [p.corner(r1, c0), p.corner(r1, c1), p.corner(r0, c1), p.corner(r0, c0)]

    for a, b in zip(corners(lower, low), corners(upper, up)):
        scene.add(Line((a, b), "#8a8a8a", 0.9, dash=True, role="cone"))
