"""Placing a network diagram's boxes in layers, and routing its edges around them.

A layered layout written for CNNs (a Sugiyama-style layering is overkill for
graphs that are chains with skips and short branches, and graphviz cannot put
the resolution on an axis or draw CNN boxes):

- Columns are ranks (longest path from the input). The longest input-to-output
  path is the main line; boxes off it (a projection shortcut, an Inception
  branch) get lanes beside it, each lane free over the columns its edges run.
- An encoder-decoder (the resolution goes down, then up again) puts each box
  at the level of its resolution, so a U-Net comes out as a U.
- A long network without upsampling wraps into rows at its outermost blocks (a
  ResNet-50 gets one row per stage), each block in a labelled frame.
- Edges are orthogonal: they turn only in the gaps between columns, and a skip
  edge runs in a corridor above everything in the columns it passes, so no edge
  crosses a box or a label.

Work happens in flow/cross coordinates (flow: the direction of the data); the
direction ``lr`` maps them to x/y and ``tb`` to y/x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...graph.expand import INPUT
from .boxes import Box, Net
from .scene import BBox, Line, Point, Poly, Scene, Text, rect, text_width, union

GAP = 40.0  # between columns: room for the vertical runs of edges
TRACK = 7.0  # between parallel edge runs
SLOT_GAP = 22.0  # between lanes (or resolution levels)
ROW_GAP = 30.0
MAX_FLOW = 2200.0  # pixels along the flow before a long network wraps
LINE = 1.3  # line height, in font sizes

Route = tuple[list[tuple[float, float]], bool, int]

INK, GREY, RED = "#222222", "#666666", "#c62828"
# Per family (LayerType.family): front, top and side faces, and the outline; as PlotNeuralNet and NN-SVG colour them.
PALETTE: dict[str, tuple[tuple[str, str, str], str]] = {
    "input": (("#f2f2f2", "#e0e0e0", "#cccccc"), "#777777"),
    "convolution": (("#dbe8f6", "#b7cfe9", "#9dbde0"), "#4a6f9a"),
    "pooling": (("#f8d5e3", "#efadc8", "#e690b4"), "#a3385f"),
    "normalisation": (("#e6def3", "#cdbde8", "#b9a3de"), "#6a4f99"),
    "merge": (("#fff2bf", "#ffe184", "#ffd452"), "#94720a"),
    "dense": (("#d8efd6", "#b1dfad", "#92d18d"), "#3d7a38"),
    "up-sampling": (("#d3f0f2", "#a6dfe4", "#82d0d7"), "#2a7a82"),
    "activation": (("#fde1c6", "#fbc38e", "#f8a862"), "#ad5d17"),
    "reshape": (("#ebe5da", "#d8ccb8", "#c6b69b"), "#75654c"),
    "other": (("#eeeeee", "#dddddd", "#cccccc"), "#777777"),
}
MISMATCH = (("#f9dcdc", "#f2b8b8", "#eba0a0"), RED)
MIN_LENGTH, MAX_LENGTH, FIT_LENGTH, EXPONENT = 10.0, 150.0, 100.0, 0.6


def size_of(n: int, top: int = 224, longest: float = MAX_LENGTH) -> float:
    """Box length for a spatial size, ``top`` being the largest in the figure: a power law (``n^0.6``), so that
    each halving shortens a box by a third (64 → 32 → 16 reads as two clear steps), never below a visible
    minimum. A log scale made 64 and 16 look alike."""
    return max(MIN_LENGTH, longest * math.pow(max(n, 1) / max(top, n, 1), EXPONENT))


def vector_of(n: int) -> float:
    """Bar length for a feature count (log scale: 10 and 4096 both read)."""
    return min(120.0, 8.0 + 10.0 * math.log2(max(n, 1)))


def thickness_of(c: int) -> float:
    """Box thickness for a channel count (log scale)."""
    return 4.0 + 5.0 * math.log2(max(c, 1))


@dataclass
class Node:
    """A box with its place: row, column, lane (or level), and geometry relative to its anchor."""

    box: Box
    rank: int = 0
    row: int = 0
    col: int = 0
    lane: int = 0
    level: int = 0
    main: bool = False
    w: float = 0.0  # front face, real x extent
    h: float = 0.0  # front face, real y extent
    ox: float = 0.0  # oblique depth, right
    oy: float = 0.0  # and up
    lines: list[tuple[str, float, bool, str, str]] = field(default_factory=list)  # text, size, bold, colour, role
    f: float = 0.0  # flow position of the footprint's start
    c: float = 0.0  # cross position of the centre line

    @property
    def label_w(self) -> float:
        return max((text_width(t, s, b) for t, s, b, _, _ in self.lines), default=0.0)

    @property
    def label_h(self) -> float:
        return sum(s * LINE for _, s, _, _, _ in self.lines)


class Layout:
    """Positions and routes for one :class:`Net` in one direction."""

    def __init__(self, net: Net, direction: str, wrap: float | None = None) -> None:
        self.net, self.lr = net, direction == "lr"
        self.wrap = wrap  # fit a width: rows of at most this many pixels along the flow, even for a U
        self.nodes = {b.key: Node(b) for b in net.boxes}
        spatial = [d for b in net.boxes if len(b.shape) >= 2 for d in b.shape[1:]]
        self.top = max(spatial, default=1)
        self.longest = MAX_LENGTH if wrap is None else FIT_LENGTH  # rows of a fitted figure: shorter boxes
        self.order = [b.key for b in net.boxes]
        self.consumers: dict[int, list[int]] = {k: [] for k in self.order}
        for b in net.boxes:
            for s in b.inputs:
                self.consumers[s].append(b.key)
        self._rank()
        self.u_shape = self._levels() and wrap is None
        for n in self.nodes.values():
            self._geometry(n)
        self._rows()
        self._lanes()
        self.scene = Scene()
        self.frames: list[tuple[BBox, str]] = []

    # -- structure --------------------------------------------------------------------------------------

    def _geometry(self, n: Node) -> None:
        shape = n.box.shape
        if len(shape) >= 3:
            cross, depth = size_of(shape[-2], self.top, self.longest), size_of(shape[-1], self.top, self.longest) / 2
            thick = thickness_of(shape[0])
        elif len(shape) == 2:
            cross, thick, depth = size_of(shape[1], self.top, self.longest), thickness_of(shape[0]), 8.0
        elif len(shape) == 1:  # a vector: a thin bar
            cross, thick, depth = vector_of(shape[0]), 8.0, 8.0
        else:
            cross, thick, depth = 10.0, 10.0, 6.0
        n.w, n.h = (thick, cross) if self.lr else (cross, thick)
        n.ox, n.oy = 0.55 * depth, 0.45 * depth
        b = n.box
        colour = RED if b.ok is False else INK
        name = f"{b.group}.{b.name}" if self.u_shape and b.group else b.name  # no frames name the blocks
        n.lines = [(name, 11.0, True, colour, "name")]
        if b.op:
            n.lines.append((b.op, 10.0, False, GREY, "op"))
        n.lines.append((b.shape_label, 11.0, False, colour, "shape"))
        if b.key != INPUT:
            n.lines.append((b.params_label, 10.0, False, GREY, "params"))
        if b.problem:
            n.lines.append((b.problem, 10.0, False, RED, "problem"))

    def _rank(self) -> None:
        for k in self.order:
            ins = self.nodes[k].box.inputs
            self.nodes[k].rank = 1 + max((self.nodes[s].rank for s in ins), default=-1) if k != INPUT else 0
        key = self.order[-1]
        while True:
            self.nodes[key].main = True
            ins = self.nodes[key].box.inputs
            if not ins:
                break
            key = max(ins, key=lambda s: self.nodes[s].rank)

    def _levels(self) -> bool:
        """Resolution levels of the main line; True when it goes down and comes back up (an encoder-decoder)."""
        main = [self.nodes[k] for k in self.order if self.nodes[k].main]
        top = main[0].box.shape
        level = 0
        for n in main:
            s = n.box.shape
            if len(s) >= 2 and len(top) >= 2 and len(s) == len(top) and s[-1] > 0:
                level = max(0, round(math.log2(max(top[-1], 1) / s[-1])))
            n.level = level
        peak = max(n.level for n in main)
        return peak > 0 and any(n.level < peak for n in main[[n.level for n in main].index(peak) :])

    def _rows(self) -> None:
        """Wrap a long network at its outermost blocks: rows of at most MAX_FLOW pixels (a block alone may be
        twice that before it is split), never an encoder-decoder, whose U needs one row. Fitting a width
        (``wrap``), every row is at most that long: a block is split where it must be."""
        main = [self.nodes[k] for k in self.order if self.nodes[k].main]
        rows: list[int] = [0] * len(main)  # per main rank
        length = [self.extent(n)[1] - self.extent(n)[0] + GAP for n in main]
        limit = self.wrap if self.wrap is not None else MAX_FLOW
        if not self.u_shape and sum(length) > limit:
            runs: list[list[int]] = []
            for r, n in enumerate(main):
                if (
                    runs
                    and main[runs[-1][-1]].box.group == n.box.group
                    and sum(length[k] for k in runs[-1]) < (limit if self.wrap is not None else 2 * limit)
                ):
                    runs[-1].append(r)
                else:
                    runs.append([r])
            row, used = 0, 0.0
            for run in runs:
                size = sum(length[r] for r in run)
                whole = self.wrap is None or (main[run[0]].box.group is not None and size <= limit)
                if used and whole and used + size > limit:  # a block that fits a row starts one
                    row, used = row + 1, 0.0
                for r in run:
                    if self.wrap is not None and used and used + length[r] > limit:
                        row, used = row + 1, 0.0  # a block longer than a row: split it
                    rows[r] = row
                    used += length[r]
        start: dict[int, int] = {}
        for r, row in enumerate(rows):
            start.setdefault(row, r)
        for n in self.nodes.values():
            r = min(n.rank, len(main) - 1)
            n.row, n.col = rows[r], r - start[rows[r]]

    def _lanes(self) -> None:
        taken: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for k in self.order:
            n = self.nodes[k]
            if n.main:
                continue
            lo = hi = n.col
            for s in n.box.inputs:
                if self.nodes[s].row == n.row:
                    lo = min(lo, self.nodes[s].col + 1)
            for v in self.consumers[k]:
                if self.nodes[v].row == n.row:
                    hi = max(hi, self.nodes[v].col - 1)
            lane = 1
            while any(a <= hi and lo <= b for a, b in taken.get((n.row, lane), [])):
                lane += 1
            taken.setdefault((n.row, lane), []).append((lo, hi))
            n.lane = lane

    # -- geometry in flow/cross coordinates ---------------------------------------------------------------

    def extent(self, n: Node) -> tuple[float, float, float, float]:
        """The footprint (box and labels) as flow start, flow end, cross before and after the centre line."""
        cw, lw, lh = n.w + n.ox, n.label_w, n.label_h
        if self.lr:
            f0, f1 = min(0.0, cw / 2 - lw / 2), max(cw, cw / 2 + lw / 2)
            return f0, f1, n.oy + n.h / 2, n.h / 2 + 6 + lh
        return min(-n.oy, n.h / 2 - lh / 2), max(n.h, n.h / 2 + lh / 2), n.w / 2, n.w / 2 + n.ox + 8 + lw

    def slot(self, n: Node) -> int:
        """Levels first (an encoder-decoder), then lanes."""
        if self.u_shape:
            peak = max(m.level for m in self.nodes.values() if m.main)
            return n.level if n.main else peak + n.lane
        return n.lane

    def place(self) -> None:
        rows = sorted({n.row for n in self.nodes.values()})
        self.columns: dict[tuple[int, int], tuple[float, float]] = {}
        for row in rows:
            members = [n for n in self.nodes.values() if n.row == row]
            f = GAP
            for col in range(max(n.col for n in members) + 1):
                here = [n for n in members if n.col == col]
                width = max((self.extent(n)[1] - self.extent(n)[0] for n in here), default=0.0)
                self.columns[(row, col)] = (f, f + width)
                for n in here:
                    e = self.extent(n)
                    n.f = f + (width - (e[1] - e[0])) / 2 - e[0]
                f += width + GAP
            slots = sorted({self.slot(n) for n in members})
            c, prev_after = 0.0, None
            for s in slots:
                here = [n for n in members if self.slot(n) == s]
                before = max(self.extent(n)[2] for n in here)
                after = max(self.extent(n)[3] for n in here)
                if prev_after is not None:
                    c += prev_after + SLOT_GAP + before
                for n in here:
                    n.c = c
                prev_after = after

    def footprint(self, n: Node) -> tuple[float, float, float, float]:
        """Flow and cross bounds of a placed node: f0, f1, c0, c1."""
        e = self.extent(n)
        return n.f + e[0], n.f + e[1], n.c - e[2], n.c + e[3]

    def port_in(self, n: Node) -> tuple[float, float]:
        return (n.f - 2, n.c) if self.lr else (n.f - n.oy - 2, n.c)

    def port_out(self, n: Node) -> tuple[float, float]:
        return (n.f + n.w + n.ox + 2, n.c) if self.lr else (n.f + n.h + 2, n.c)

    def gap_after(self, row: int, col: int) -> float:
        """The flow position where the gap after column ``col`` starts."""
        return self.columns[(row, col)][1]

    def gap_before(self, row: int, col: int) -> float:
        return self.columns[(row, col)][0] - GAP

    # -- edges --------------------------------------------------------------------------------------------

    def entries(self, v: Node) -> dict[int, float]:
        """Where each input enters ``v``, as a cross offset from its centre line: a merge (Concat, Add) takes
        each input at its own point of its input face, in the order they arrive (from above first), the main
        line straight on; any other box takes its input at the centre."""
        ins = v.box.inputs
        if len(ins) < 2:
            return {s: 0.0 for s in ins}

        def side(s: int) -> float:
            u = self.nodes[s]
            if u.row != v.row:
                return -2e9  # from the row above
            if v.col == u.col + 1 and u.c == v.c:
                return 0.0
            if (
                v.col == u.col + 1
                or (u.lane > 0 and u.lane != v.lane and not self.u_shape)
                or (v.lane > 0 and u.lane != v.lane and not self.u_shape)
            ):
                return u.c - v.c
            return -1e9 - (v.col - u.col)  # a skip from the corridor above: the longer, the farther out

        order = sorted(ins, key=side)
        straight = next((k for k, s in enumerate(order) if side(s) == 0.0), None)
        half = (v.h if self.lr else v.w) / 2 - 1  # ports stay on the face
        if straight is not None:  # the main line straight on, the others beside it
            reach = max(straight, len(ins) - 1 - straight)
            step = min(14.0, half / reach)
            if step >= 6.0:
                return {s: (k - straight) * step for k, s in enumerate(order)}
        step = min(14.0, 2 * half / (len(ins) - 1))  # a small face: spread evenly over it
        return {s: (k - (len(ins) - 1) / 2) * step for k, s in enumerate(order)}

    def route(self) -> list[Route]:
        """Every edge within a row as a flow/cross polyline, whether it is on the main line, and its row."""
        gap_use: dict[tuple[int, int], int] = {}  # (row, gap index: the gap before column g) -> runs in it

        def lane_in_gap(row: int, g: int) -> float:
            k = gap_use.get((row, g), 0)
            gap_use[(row, g)] = k + 1
            start = self.gap_before(row, g) if (row, g) in self.columns else self.gap_after(row, g - 1)
            return start + GAP / 2 + (k + 1) // 2 * TRACK * (1 if k % 2 else -1)

        out: list[Route] = []
        skips: list[tuple[Node, Node]] = []
        cross_row: list[tuple[Node, Node]] = []
        self.entry: dict[tuple[int, int], float] = {}
        for k in self.order:
            v = self.nodes[k]
            entry = self.entries(v)
            for s in v.box.inputs:
                u = self.nodes[s]
                self.entry[(s, k)] = entry[s]
                a, b = self.port_out(u), self.port_in(v)
                b = (b[0], b[1] + entry[s])
                if u.row != v.row:
                    cross_row.append((u, v))
                elif v.col == u.col + 1 and u.c == v.c and entry[s] == 0:
                    out.append(([a, b], u.main and v.main, u.row))
                elif v.col == u.col + 1 or (u.lane > 0 and u.lane != v.lane and not self.u_shape):
                    g = lane_in_gap(v.row, v.col)
                    out.append(([a, (g, a[1]), (g, b[1]), b], False, u.row))
                elif v.lane > 0 and u.lane != v.lane and not self.u_shape:
                    g = lane_in_gap(u.row, u.col + 1)
                    out.append(([a, (g, a[1]), (g, b[1]), b], False, u.row))
                else:
                    skips.append((u, v))
        tracks: list[list[tuple[int, int, int]]] = []  # per track: (row, col range) taken
        for u, v in sorted(skips, key=lambda e: e[1].col - e[0].col):
            lo, hi = u.col + 1, v.col - 1
            between = [n for n in self.nodes.values() if n.row == u.row and lo <= n.col <= hi]
            top = min([self.footprint(n)[2] for n in between] + [u.c - self.extent(u)[2], v.c - self.extent(v)[2]])
            t = 0
            while t < len(tracks) and any(r == u.row and a <= hi + 1 and lo - 1 <= b for r, a, b in tracks[t]):
                t += 1
            if t == len(tracks):
                tracks.append([])
            tracks[t].append((u.row, lo, hi))
            y = top - 10 - TRACK * t
            g1, g2 = lane_in_gap(u.row, u.col + 1), lane_in_gap(v.row, v.col)
            a, b = self.port_out(u), self.port_in(v)
            b = (b[0], b[1] + self.entry[(u.box.key, v.box.key)])
            out.append(([a, (g1, a[1]), (g1, y), (g2, y), (g2, b[1]), b], False, u.row))
        self.cross_row = cross_row
        return out

    def cross_runs(self) -> dict[int, int]:
        """Per space between rows (named by the row above it): how many cross-row edges run along it."""
        runs: dict[int, int] = {}
        for u, v in self.cross_row:
            runs[u.row] = runs.get(u.row, 0) + 1
            if v.row - u.row > 1:
                runs[v.row - 1] = runs.get(v.row - 1, 0) + 1
        return runs

    def route_cross_rows(self, offsets: dict[int, float], bottoms: dict[int, float]) -> list[list[Point]]:
        """Edges from one row to a later one: down the gap after the source, along the space below its row and
        into the gap before the target; an edge that skips rows goes down the left margin between the two."""
        out = []
        taken: dict[int, int] = {}  # space between rows -> runs in it
        margins: list[list[tuple[int, int]]] = []  # left-margin tracks: the row spans they hold
        for k, (u, v) in enumerate(self.cross_row):
            a, b = self.port_out(u), self.port_in(v)
            a = (a[0], a[1] + offsets[u.row])
            b = (b[0], b[1] + offsets[v.row] + self.entry[(u.box.key, v.box.key)])

            def run(row: int) -> float:
                n = taken[row] = taken.get(row, -1) + 1
                return bottoms[row] + 12 + TRACK * n

            g1 = self.gap_after(u.row, u.col) + GAP / 2 + TRACK * (k % 3)
            g2 = self.gap_before(v.row, v.col) + GAP / 2 - TRACK * (k % 3)
            y = run(u.row)
            if v.row - u.row == 1:
                out.append([a, (g1, a[1]), (g1, y), (g2, y), (g2, b[1]), b])
                continue
            t = 0
            while t < len(margins) and any(lo <= v.row and u.row <= hi for lo, hi in margins[t]):
                t += 1
            if t == len(margins):
                margins.append([])
            margins[t].append((u.row, v.row))
            x, y2 = -12 - TRACK * t, run(v.row - 1)
            out.append([a, (g1, a[1]), (g1, y), (x, y), (x, y2), (g2, y2), (g2, b[1]), b])
        return out


def draw(net: Net, direction: str, wrap: float | None = None, legend_width: float | None = None) -> Scene:
    """The diagram of ``net`` as a scene; ``wrap``: rows of at most that many pixels (fitting a width)."""
    lay = Layout(net, direction, wrap)
    lay.place()
    routes = lay.route()
    runs = lay.cross_runs()
    rows = sorted({n.row for n in lay.nodes.values()})
    # Per row: its extent in cross coordinates (boxes, labels, edges within it, frames with their titles).
    frames = _frames(lay, routes)
    offsets, bottoms, c = {}, {}, 0.0
    for row in rows:
        parts = [lay.footprint(n)[2:] for n in lay.nodes.values() if n.row == row]
        parts += [(min(p[1] for p in pts), max(p[1] for p in pts)) for pts, _, r in routes if r == row]
        parts += [(fr[2] - 18, fr[3]) for fr, _, r in frames if r == row]
        lo, hi = min(p[0] for p in parts), max(p[1] for p in parts)
        offsets[row] = c - lo
        bottoms[row] = c - lo + hi
        c = bottoms[row] + ROW_GAP + TRACK * max(3, runs.get(row, 0))
    scene = lay.scene

    def xy(p: tuple[float, float], row: int) -> Point:
        f, cc = p[0], p[1] + offsets[row]
        return (f, cc) if lay.lr else (cc, f)

    for fr, label, row in frames:
        corners = (xy((fr[0], fr[2]), row), xy((fr[1], fr[3]), row))
        x0, y0 = min(p[0] for p in corners), min(p[1] for p in corners)
        x1, y1 = max(p[0] for p in corners), max(p[1] for p in corners)
        scene.add(Poly(rect(x0, y0, x1, y1), "#fafafa", "#9e9e9e", 1.0, dash=True, role="frame"))
        scene.add(Text(x0 + 4, y0 - 6, label, 10.5, "start", True, "#555555", role="frame-label"))
    for pts, main, row in routes:
        scene.add(Line(tuple(xy(p, row) for p in pts), "#444444" if main else "#777777", 1.3, arrow=True))
    for pts in lay.route_cross_rows(offsets, bottoms):
        scene.add(Line(tuple((p[0], p[1]) if lay.lr else (p[1], p[0]) for p in pts), "#777777", 1.3, arrow=True))
    for k in lay.order:
        n = lay.nodes[k]
        _cuboid(scene, lay, n, xy((n.f, n.c), n.row))
    legend(scene, [f for b in net.boxes for f in (b.family, *b.folded) if b.ok is not False], legend_width)
    scene.meta["u_shape"] = lay.u_shape
    scene.meta["rows"] = len(rows)
    return scene


LEGEND = {"input": "input", "convolution": "convolution", "pooling": "pooling", "normalisation": "normalisation",
          "merge": "merge (Concat, Add)", "dense": "dense", "up-sampling": "up-sampling", "activation": "activation",
          "reshape": "reshape", "other": "other"}  # fmt: skip


def legend(scene: Scene, families: list[str], width: float | None = None) -> None:
    """A key below the figure: a swatch and a name for each kind of layer drawn, in :data:`FAMILIES` order,
    wrapped to ``width`` (default: the figure's)."""
    from ...layers.base import FAMILIES

    shown = [f for f in ("input", *FAMILIES) if f in set(families) and f in PALETTE]
    if not scene.items or not shown:
        return
    x0, _, x1, y1 = union([i.bbox() for i in scene.items])
    limit = max(width if width is not None else x1 - x0, 240.0)
    x, y = x0, y1 + 18
    for f in shown:
        label = LEGEND[f]
        step = 16 + text_width(label, 10) + 14
        if x > x0 and x + step - 14 > x0 + limit:
            x, y = x0, y + 18
        fills, stroke = PALETTE[f]
        scene.add(Poly(rect(x, y - 9, x + 11, y + 2), fills[0 if f != "activation" else 2], stroke, 1.0,
                       role="legend", data={"family": f}))  # fmt: skip
        scene.add(Text(x + 16, y, label, 10, "start", False, GREY, role="legend-label", data={"family": f}))
        x += step
    scene.meta["legend"] = shown


def _frames(lay: Layout, routes: list[Route]) -> list[tuple[BBox, str, int]]:
    """A dashed frame around each outermost block's boxes in a row, with its title above (not in a U layout)."""
    if lay.u_shape:
        return []
    out = []
    seen: dict[tuple[int, str], list[Node]] = {}
    for k in lay.order:
        n = lay.nodes[k]
        if n.box.group is not None:
            seen.setdefault((n.row, n.box.group), []).append(n)
    for (row, _), members in seen.items():
        f0 = min(lay.footprint(n)[0] for n in members) - 8
        f1 = max(lay.footprint(n)[1] for n in members) + 8
        c0 = min(lay.footprint(n)[2] for n in members)
        c1 = max(lay.footprint(n)[3] for n in members) + 6
        for pts, _, r in routes:  # edge runs inside the frame's columns (skip corridors) stay inside it
            if r == row and f0 <= pts[0][0] <= f1 and f0 <= pts[-1][0] <= f1:
                c0 = min(c0, *(p[1] for p in pts))
        c0 -= 10
        label = members[0].box.group_label
        if lay.lr and text_width(label, 10.5, True) > f1 - f0:
            label = label.split(" · ")[0]
        out.append(((f0, f1, c0, c1), label, row))
    return out


def _cuboid(scene: Scene, lay: Layout, n: Node, anchor: Point) -> None:
    """The box (front, top and side faces) and its labels; ``anchor`` is the centre line at the flow start."""
    fills, stroke = MISMATCH if n.box.ok is False else PALETTE.get(n.box.family, PALETTE["other"])
    if lay.lr:
        x, y = anchor[0], anchor[1] - n.h / 2
    else:
        x, y = anchor[0] - n.w / 2, anchor[1]
    w, h, ox, oy = n.w, n.h, n.ox, n.oy
    data = {"node": n.box.node}
    scene.add(Poly(((x, y), (x + ox, y - oy), (x + w + ox, y - oy), (x + w, y)), fills[1], stroke, 1.0, role="box-top",
                   data=data))  # fmt: skip
    scene.add(Poly(((x + w, y), (x + w + ox, y - oy), (x + w + ox, y + h - oy), (x + w, y + h)), fills[2], stroke, 1.0,
                   role="box-side", data=data))  # fmt: skip
    scene.add(Poly(rect(x, y, x + w, y + h), fills[0], stroke, 1.0, role="box", data={**data, "family": n.box.family}))
    stripes = [f for f in dict.fromkeys(n.box.folded) if f in PALETTE and f != n.box.family]
    if stripes and n.box.ok is not False:  # what is folded in (BN, ReLU): a band of its colour at the box's end
        band = min(4.0, (w if lay.lr else h) / (2 * len(stripes) + 1))
        for k, f in enumerate(reversed(stripes)):
            end = (x + w if lay.lr else y + h) - (k + 0.5) * band
            box = rect(end - band, y, end, y + h) if lay.lr else rect(x, end - band, x + w, end)
            scene.add(Poly(box, PALETTE[f][0][2], PALETTE[f][1], 0.6, role="stripe", data={**data, "family": f}))
    if lay.lr:
        cx, ty = x + (w + ox) / 2, y + h + 6
        for text, size, bold, colour, role in n.lines:
            ty += size * LINE
            scene.add(Text(cx, ty - 0.3 * size, text, size, "middle", bold, colour, role, data))
    else:
        tx, ty = x + w + ox + 8, y + h / 2 - n.label_h / 2
        for text, size, bold, colour, role in n.lines:
            ty += size * LINE
            scene.add(Text(tx, ty - 0.3 * size, text, size, "start", bold, colour, role, data))
