"""``cnncalc serve``: a local web page with the editor, the verified table and the figures (docs/web.md).

A front end beside ``cli.py`` and ``api.py``: it gathers input and calls the core and the existing
renderers (``app.py``). starlette and uvicorn (``pip install 'cnncalc[web]'``) are imported only
when the page is served. The page reuses the CLI's options and words (``app.py`` imports ``cli``),
so ``cnncalc serve`` starts the server as its own program, ``python -m cnncalc.web`` (``server.py``),
rather than importing it: no import cycle between the two front ends.
"""

from __future__ import annotations

from ..errors import CnnCalcError

INSTALL = "pip install 'cnncalc[web]'"


def require() -> None:
    """Raise a one-line CnnCalcError (exit 2) when starlette or uvicorn is missing."""
    for name in ("starlette", "uvicorn"):
        try:
            __import__(name)
        except ImportError:
            raise CnnCalcError(f"cnncalc serve needs the Python package {name}, which is not installed", None,
                               INSTALL) from None  # fmt: skip
