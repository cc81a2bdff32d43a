"""The figure object every drawing returns, the output formats, and the packages they need."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import CnnCalcError
from .scene import Scene

FORMATS = ("svg", "png", "pdf", "tikz")
EXTENSIONS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".tex": "tikz", ".tikz": "tikz"}
INSTALL = "pip install 'cnncalc[draw]'"


def require(fmt: str) -> None:
    """Raise a one-line CnnCalcError (exit 2) when the packages that ``fmt`` needs are missing."""
    needed = {"svg": ("drawsvg",), "png": ("drawsvg", "cairosvg"), "pdf": ("drawsvg", "cairosvg")}.get(fmt, ())
    for name in needed:
        try:
            __import__(name)
        except ImportError:
            raise CnnCalcError(f"drawing {fmt.upper()} needs the Python package {name}, which is not installed",
                               None, f"{INSTALL} (TikZ output needs nothing: --format tikz)") from None  # fmt: skip
        except OSError as e:  # cairocffi finds no libcairo
            raise CnnCalcError(f"drawing {fmt.upper()} needs the cairo library: {e}", None,
                               "install it (Debian/Ubuntu: apt-get install libcairo2; macOS: brew install cairo), "
                               "or write SVG or TikZ") from None  # fmt: skip


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The output format: ``fmt`` when given (it must agree with the extension), else from the extension."""
    suffix = Path(path).suffix.lower()
    known = EXTENSIONS.get(suffix)
    if fmt is not None:
        if known is not None and known != fmt:
            raise CnnCalcError(f"{path}: the extension {suffix} says {known}, but --format says {fmt}", None,
                               f"drop --format, or name the file *.{'tex' if fmt == 'tikz' else fmt}")  # fmt: skip
        return fmt
    if known is None:
        raise CnnCalcError(f"{path}: cannot tell the format from the extension {suffix or '(none)'}", None,
                           "name the file *.svg, *.png, *.pdf or *.tex, or give --format")  # fmt: skip
    return known


@dataclass
class Figure:
    """A finished picture; Jupyter shows it inline, :meth:`save` writes it."""

    scene: Scene
    title: str = "cnncalc figure"

    def svg(self) -> str:
        """SVG text."""
        require("svg")
        from .svg import to_svg

        return to_svg(self.scene)

    def png(self, scale: float = 2.0) -> bytes:
        """PNG bytes (``scale`` pixels per SVG pixel)."""
        require("png")
        from .svg import to_png

        return to_png(self.scene, scale)

    def pdf(self) -> bytes:
        """PDF bytes (vector)."""
        require("pdf")
        from .svg import to_pdf

        return to_pdf(self.scene)

    def tikz(self) -> str:
        """A standalone LaTeX document with the figure as a tikzpicture."""
        from .tikz import to_tikz

        return to_tikz(self.scene, self.title)

    def render(self, fmt: str) -> str | bytes:
        """The figure in ``fmt`` (svg, png, pdf or tikz): text for svg and tikz, bytes otherwise."""
        if fmt not in FORMATS:
            raise CnnCalcError(f"unknown figure format {fmt!r}", None, "use one of " + ", ".join(FORMATS))
        if fmt == "png":
            return self.png()
        if fmt == "pdf":
            return self.pdf()
        return self.svg() if fmt == "svg" else self.tikz()

    def save(self, path: str | Path, fmt: str | None = None) -> str:
        """Write the figure to ``path`` in ``fmt`` (default: from the extension); returns the format used."""
        fmt = format_of(path, fmt)
        data = self.render(fmt)
        if isinstance(data, str):
            Path(path).write_text(data, encoding="utf-8")
        else:
            Path(path).write_bytes(data)
        return fmt

    def _repr_svg_(self) -> str:
        return self.svg()


def heading(scene: Scene, title: str, note: str = "", width: float | None = None) -> None:
    """A title line (and a smaller note) above everything in the scene, wrapped at ``width`` pixels if given."""
    from .scene import Text, union

    if not scene.items:
        return
    x0, y0, _, _ = union([i.bbox() for i in scene.items])
    lines = [(t, 13.0, True, "#222222") for t in wrap(title, 13.0, True, width)] if title else []
    if note:
        colour = "#c62828" if note.startswith("MISMATCH") else "#555555"
        lines += [(t, 10.0, False, colour) for t in wrap(note, 10.0, False, width)]
    y = y0 - 12 - sum(1.35 * s for _, s, _, _ in lines)
    for text, size, bold, colour in lines:
        y += 1.35 * size
        scene.add(Text(x0, y, text, size, "start", bold, colour, role="title"))


def wrap(text: str, size: float, bold: bool, width: float | None) -> list[str]:
    """``text`` in lines of at most ``width`` pixels, broken at spaces (a longer word stays whole)."""
    from .scene import text_width

    if width is None or text_width(text, size, bold) <= width:
        return [text]
    lines: list[str] = []
    for word in text.split(" "):
        if lines and text_width(lines[-1] + " " + word, size, bold) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
