"""``python -m cnncalc.web``: the server of ``cnncalc serve``."""

from .server import main

main()
