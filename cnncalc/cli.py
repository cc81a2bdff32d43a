"""The ``cnncalc`` command line: parses options, calls the library, renders.

Exit codes: 0 ok, 1 a check failed (a mismatch with torch, an expectation not
met), 2 bad input or usage, 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import click

from . import __version__
from .errors import CnnCalcError

EXIT_OK, EXIT_CHECK, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def _fail(message: str, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _guard(fn: Callable[[], int], traceback: bool) -> NoReturn:
    """Run ``fn``; turn errors into one line and an exit code unless --traceback."""
    try:
        code = fn()
    except CnnCalcError as e:
        if traceback:
            raise
        _fail(e.format(), EXIT_INPUT)
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
    except Exception as e:  # a bug in cnncalc; the user still gets one line
        if traceback:
            raise
        _fail(
            f"internal error: {type(e).__name__}: {e} (this is a cnncalc bug; rerun with --traceback and report it)",
            EXIT_INTERNAL,
        )
    sys.exit(code)


def _parse_set(values: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not value.strip().isdigit():
            raise click.BadParameter(f"{item!r}: expected NAME=INTEGER, e.g. H=64", param_hint="--set")
        out[name.strip()] = int(value)
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="cnncalc")
def main() -> None:
    """Layer-by-layer output sizes and parameter counts of CNNs, derived symbolically and proven with torch."""


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--set", "set_", multiple=True, metavar="NAME=N", help="Give a symbol a value, e.g. --set H=64 (repeatable)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown", "csv"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Check every number with a real torch forward pass (--no-verify does not import torch).",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda", "mps", "meta"]),
    default="auto",
    show_default=True,
    help="Where the forward pass runs; auto is CUDA when available, else CPU; meta checks shapes without compute.",
)
@click.option(
    "--batch", type=click.IntRange(1, 1024), default=2, show_default=True, help="Batch size of the forward pass."
)
@click.option("--width", type=click.IntRange(40, 400), default=None, help="Table width (default: terminal).")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default="float32",
              show_default=True, help="Element type for the memory figures.")  # fmt: skip
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
def shapes(
    file: str,
    set_: tuple[str, ...],
    fmt: str,
    verify: bool,
    device: str,
    batch: int,
    width: int | None,
    dtype: str,
    traceback: bool,
) -> None:
    """Derive every layer's output shape, parameters, MACs and receptive field from FILE; verify them with torch."""
    _run(file, set_, fmt, verify, device, batch, width, dtype, traceback, "shapes")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--set", "set_", multiple=True, metavar="NAME=N", help="Give a symbol a value, e.g. --set H=64.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format (the JSON is the same document as 'cnncalc shapes').")  # fmt: skip
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check every region against torch input gradients (--no-verify does not import torch).")  # fmt: skip
@click.option("--width", type=click.IntRange(40, 400), default=None, help="Table width (default: terminal).")
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
def rf(file: str, set_: tuple[str, ...], fmt: str, verify: bool, width: int | None, traceback: bool) -> None:
    """Receptive field of every layer of FILE: size, stride, padding and the region of unit 0, per dim."""
    _run(file, set_, fmt, verify, "cpu", 2, width, "float32", traceback, "rf")


def _run(file: str, set_: tuple[str, ...], fmt: str, verify: bool, device: str, batch: int, width: int | None,
         dtype: str, traceback: bool, view: str) -> None:  # fmt: skip
    values = _parse_set(set_)

    def run() -> int:
        from .pipeline import shapes as derive

        with _progress_bar(verify) as progress:
            report = derive(file, values, verify=verify, device=device, batch=batch, progress=progress, dtype=dtype)
        _render(report, fmt, width, view)
        for line in report.expect_failures:
            click.echo(line, err=True)
        for m in report.mismatches:
            click.echo(m.message(), err=True)
        return EXIT_OK if report.ok else EXIT_CHECK

    _guard(run, traceback)


@contextlib.contextmanager
def _progress_bar(verify: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr for the verification, only when stderr is a terminal."""
    if not verify or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("verifying with torch"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), transient=True)  # fmt: skip
    task = bar.add_task("verify", total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _render(report: Any, fmt: str, width: int | None, view: str = "shapes") -> None:
    if fmt == "table":
        from rich.console import Console

        from .render.table import print_report, print_rf

        (print_rf if view == "rf" else print_report)(report, Console(width=width, highlight=False))
        return
    from .render import formats

    text = {"json": formats.to_json, "markdown": formats.to_markdown, "csv": formats.to_csv}[fmt](report)
    click.echo(text, nl=False)


@main.command()
@click.argument("name", required=False)
def layers(name: str | None) -> None:
    """List the supported layer types, or show one type's arguments and formulas."""
    from .layers import CATALOGUE, REQUIRED

    if name is None:
        for type_name in sorted(CATALOGUE):
            click.echo(type_name)
        return
    if name not in CATALOGUE:
        from .errors import did_you_mean

        _fail(
            f"error: unknown layer type {name!r}; hint: {did_you_mean(name, CATALOGUE) or 'see cnncalc layers'}",
            EXIT_INPUT,
        )
    t = CATALOGUE[name]
    click.echo(f"{t.name}")
    for inferred in t.inferred:
        click.echo(f"  {inferred}: inferred from the input (checked if written)")
    for arg_name, arg in t.args.items():
        default = "required" if arg.default is REQUIRED else f"default {arg.default!r}"
        click.echo(f"  {arg_name}: {arg.kind}, {default}")
    for key, text in t.formulas().items():
        click.echo(f"  {key}: {text}")
