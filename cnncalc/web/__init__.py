"""``cnncalc serve``: a local web page with the editor, the verified table and the figures (docs/web.md).

A front end beside ``cli.py`` and ``api.py``: it gathers input and calls the core and the existing
renderers. starlette and uvicorn (``pip install 'cnncalc[web]'``) are imported only here, when
the page is served.
"""

from __future__ import annotations

from typing import Any

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


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False, config: Any = None) -> None:
    """Serve the page until interrupted (Ctrl+C); ``port`` 0 takes a free one, which is printed."""
    require()
    import socket
    import threading
    import webbrowser

    import uvicorn

    from .app import Config, create_app

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)  # from here on connections wait in the backlog, so the printed address already answers
    except OSError as e:
        sock.close()
        raise CnnCalcError(f"--port {port}: cannot listen on {host}:{port} ({e.strerror or e})", None,
                           "pick another port, or --port 0 for a free one") from None  # fmt: skip
    url = f"http://{'[' + host + ']' if ':' in host else host}:{sock.getsockname()[1]}/"
    server = uvicorn.Server(uvicorn.Config(create_app(config or Config()), log_level="warning", lifespan="on"))
    print(f"cnncalc: serving on {url} (Ctrl+C stops it)", flush=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
