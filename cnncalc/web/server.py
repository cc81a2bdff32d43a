"""The server program of ``cnncalc serve``: ``python -m cnncalc.web --host 127.0.0.1 --port 8000 [--open]``.

``cnncalc serve`` checks its options and runs this program (a process of its own: the page imports the
CLI, so the CLI does not import the page). Errors are the CLI's one line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import CnnCalcError
from . import require


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


def main(argv: list[str] | None = None) -> None:
    """``python -m cnncalc.web``: the options ``cnncalc serve`` passes on (see ``cnncalc serve --help``)."""
    from .. import budget
    from ..cli import EXIT_OK, _guard

    parser = argparse.ArgumentParser(prog="cnncalc serve", description="The server of cnncalc serve.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--open", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--queue", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=budget.timeout())
    parser.add_argument("--max-memory", type=int, default=budget.DEFAULT_MAX_MEMORY)
    parser.add_argument("--traceback", action="store_true")
    args = parser.parse_args(argv)

    def run() -> int:
        require()
        from .app import Config

        config = Config(args.timeout or None, args.max_memory, max(1, args.workers), max(1, args.queue))
        serve(args.host, args.port, args.open, config)
        return EXIT_OK

    _guard(run, args.traceback)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
