"""``cnncalc-check-files``: the pre-commit entry point, ``cnncalc check`` on each file (or on the given target).

pre-commit passes the changed files; each architecture file and each notebook is checked in
turn (a notebook with the hook's ``args``, e.g. ``--input 3x28x28``: its one ``nn.Module`` class,
of which only the definitions run). With a target among the arguments (``models/net.py:Net
--input 3x28x28`` or ``course.ipynb:Net ...``, and ``pass_filenames: false``) it is one
``cnncalc check``. The exit code is the worst one.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cnncalc check`` per architecture file or notebook, or once when the arguments name a Python target."""
    from .cli import main as cli
    from .pymodel import is_python_target

    args = list(sys.argv[1:] if argv is None else argv)
    files = [a for a in args if a.endswith((".yaml", ".yml", ".ipynb")) and not a.startswith("-")]
    options = [a for a in args if a not in files]
    if any(is_python_target(a) for a in options if not a.startswith("-") and ":" in a) or not files:
        return _run(cli, options + files)
    return max(_run(cli, [f, *options]) for f in files)


def _run(cli: object, args: list[str]) -> int:
    try:
        cli.main(["check", *args], prog_name="cnncalc", standalone_mode=True)  # type: ignore[attr-defined]
    except SystemExit as e:
        return int(e.code or 0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
