"""The ``cnncalc`` command line: parses options, calls the library, renders.

Exit codes: 0 ok, 1 a check failed (a mismatch with torch, an expectation not
met), 2 bad input or usage, 3 an internal error (a bug: please report it).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__
from .errors import CnnCalcError

if TYPE_CHECKING:
    from .convolve import Convolution, Matrix
    from .parse.spec import ArchSpec
    from .pymodel.inputs import InputSpec
    from .pymodel.load import Target
    from .report import ReportBase, ShapesReport

EXIT_OK, EXIT_CHECK, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


def _echo(message: str = "", err: bool = False, nl: bool = True) -> None:
    """``click.echo`` of text that may quote the user's strings: control characters shown escaped."""
    from .textsafe import visible

    click.echo(visible(message), err=err, nl=nl)


def _fail(message: str, code: int) -> NoReturn:
    from .textsafe import one_line

    _echo("\n".join(one_line(line) for line in message.split("\n")), err=True)  # one line per error, always
    sys.exit(code)


def _usage_line(e: click.ClickException) -> str:
    """A click usage error as one line: ``cnncalc check: error: Invalid value for '--sizes': ...; hint: ...``."""
    ctx = getattr(e, "ctx", None) or click.get_current_context(silent=True)
    where = f"{ctx.command_path}: " if ctx is not None else ""
    hint = f"; hint: see {ctx.command_path} --help" if ctx is not None else ""
    return f"{where}error: {' '.join(e.format_message().split()).rstrip('.')}{hint}"


def _guard(fn: Callable[[], int], traceback: bool) -> NoReturn:
    """Run ``fn``; turn errors into one line and an exit code unless --traceback."""
    try:
        code = fn()
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
    except Exception as e:
        if traceback:
            raise
        _fail(*failure_line(e))
    sys.exit(code)


def failure_line(e: Exception) -> tuple[str, int]:
    """What ``_guard`` prints for an exception, and the exit code (the web page answers with the same)."""
    if isinstance(e, CnnCalcError):
        return e.format(), getattr(e, "exit_code", EXIT_INPUT)  # a model that failed while it ran: 1
    if isinstance(e, click.ClickException):  # a bad option value found while running: usage, exit 2
        return _usage_line(e), EXIT_INPUT
    if isinstance(e, MemoryError):  # bounded by estimates first; this is the last line of defence
        return "error: out of memory; hint: use smaller sizes, a smaller --batch, or --no-verify", EXIT_INPUT
    # a bug in cnncalc; the user still gets one line
    return (f"internal error: {type(e).__name__}: {e} (this is a cnncalc bug; rerun with --traceback and report it)",
            EXIT_INTERNAL)  # fmt: skip


def _parse_set(values: tuple[str, ...]) -> dict[str, int]:
    import re

    out = {}
    for item in values:
        name, eq, value = item.partition("=")
        if not eq or not name.strip() or not re.fullmatch(r"[0-9]{1,16}", value.strip()):
            raise click.BadParameter(f"{item!r}: expected NAME=INTEGER, e.g. H=64", param_hint="--set")
        out[name.strip()] = int(value.strip())
    return out


def entry() -> None:
    """The ``cnncalc`` program (``python -m cnncalc``): :func:`main`, and then an exit that does not wait for
    threads a Python target started and never ended (Python would join them for ever)."""
    import os
    import threading

    try:
        main()
        code: Any = 0
    except SystemExit as e:
        code = e.code
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 1)
    sys.exit(code)


class _Main(click.Group):
    """The ``cnncalc`` group: a usage error (a bad option value, a missing argument) is one line, exit 2."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:  # fmt: skip
        from . import budget

        if not standalone_mode:
            with budget.limits():
                return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            with budget.limits():  # the defaults, which --timeout and --max-memory change for this command
                rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as e:
            e.show()
            sys.exit(e.exit_code)
        except click.ClickException as e:
            _fail(_usage_line(e), e.exit_code)
        except click.Abort:
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


def _writable(path: str | None, option: str, folder: bool = False) -> None:
    """Refuse, before any work, an output path that cannot be written: a missing folder, a directory, a pipe."""
    import os
    import stat
    from pathlib import Path

    if path is None:
        return
    target = Path(path)
    if not path.strip():
        raise CnnCalcError(f"{option}: the path is empty", None, "name a file")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise CnnCalcError(f"{option} {path}: cannot write there ({e.strerror})", None) from None
    if st is not None:
        if folder:
            if not stat.S_ISDIR(st.st_mode):
                raise CnnCalcError(f"{option} {path}: exists and is not a directory", None, "name a folder")
            return
        from .inputfile import kind_of

        if stat.S_ISDIR(st.st_mode) or stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode):
            raise CnnCalcError(f"{option} {path}: is {kind_of(st.st_mode)}", None, "name a file")
        return
    parent = target.parent
    if not folder and not parent.is_dir():
        raise CnnCalcError(f"{option} {path}: the directory {str(parent)!r} does not exist", None,
                           f"create it first (mkdir -p {parent})")  # fmt: skip


def _written(write: Callable[[], object], path: str, option: str) -> None:
    """Write, turning an operating-system error into one line."""
    try:
        write()
    except OSError as e:
        raise CnnCalcError(f"{option} {path}: cannot write it ({e.strerror or e})", None) from None


def _expand_option(fn: Callable[..., None]) -> Callable[..., None]:
    return click.option("--expand", is_flag=True,
                        help="One row per layer (default: a layer repeated in a chain is one row, 'ReLU ×9000'; "
                             "JSON and CSV always list every layer).")(fn)  # fmt: skip


def _convention_option(fn: Callable[..., None]) -> Callable[..., None]:
    return click.option("--convention", type=click.Choice(["torch", "keras"]), default=None,
                        help="Count as torch or as Keras (BatchNorm statistics as non-trainable parameters, 'same' "
                             "with strides); default: the file's convention: key, else torch.")(fn)  # fmt: skip


def _set_timeout(ctx: click.Context, param: click.Parameter, value: float | None) -> None:
    from . import budget

    if value is None:
        try:
            budget.default_timeout()  # $CNNCALC_TIMEOUT, where set: a bad value is a usage error here
        except CnnCalcError as e:
            raise click.BadParameter(e.message, param_hint="--timeout") from None
    else:
        budget.configure(timeout=value)


def _set_max_memory(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    from . import budget

    if value is not None:
        try:
            budget.configure(max_memory=budget.parse_memory(value))
        except CnnCalcError as e:
            raise click.BadParameter(f"{value!r}: expected a size like 4GiB, 512MB or 2g", param_hint="--max-memory"
                                     ) from e  # fmt: skip


def _limit_options(fn: Callable[..., None], timeout: bool = True) -> Callable[..., None]:
    """--max-memory (and --timeout): the limits of cnncalc.budget, set for this command."""
    fn = click.option("--max-memory", default=None, metavar="SIZE", expose_value=False, callback=_set_max_memory,
                      help="Memory a forward pass may take (default 4GiB): above it, an architecture file is verified "
                           "on torch's meta device (shapes and counts), a Python model's inputs are refused.")(fn)  # fmt: skip
    if not timeout:
        return fn
    return click.option("--timeout", type=click.FloatRange(0, 86_400), default=None, metavar="SECONDS",
                        expose_value=False, callback=_set_timeout,
                        help="Time limit (default 30, or $CNNCALC_TIMEOUT; 0: no limit) for all the work on an "
                             "architecture file (past it: exit 2), and for each run of a Python model's code: its "
                             "import, each forward pass, each trace (past it: exit 1). Either way it says where it "
                             "was.")(fn)  # fmt: skip


def _target_options(fn: Callable[..., None]) -> Callable[..., None]:
    """--input, --input-dtype, --kwargs, --kwargs-file, --verbose: what a Python target (model.py:Net) needs."""
    fn = _limit_options(fn)
    fn = click.option("--verbose", is_flag=True,
                      help="A notebook target (course.ipynb:Net): list on stderr what was skipped (only imports, "
                           "definitions and literal constants run; training loops, !pip and %magics never do).")(fn)  # fmt: skip
    fn = click.option("--kwargs-file", default=None, metavar="FILE",
                      help="Constructor arguments of a Python target from a JSON file.")(fn)  # fmt: skip
    fn = click.option("--kwargs", "kwargs_json", default=None, metavar="JSON",
                      help='Constructor arguments of a Python target, e.g. \'{"num_classes": 10}\'.')(fn)  # fmt: skip
    fn = click.option("--input-dtype", "input_dtypes", multiple=True, metavar="DTYPE",
                      help="Element type of the inputs of a Python target: float32 (default), float64, float16, "
                           "bfloat16, long, int, bool; once for all inputs or once per --input.")(fn)  # fmt: skip
    return click.option("--input", "inputs", multiple=True, metavar="3x28x28",
                        help="Per-sample input shape of a Python target (no batch dim); symbols allowed (3xHxW); "
                             "repeat for several inputs.")(fn)  # fmt: skip


@dataclass(frozen=True)
class Derive:
    """What to derive: symbol values fixed with --set, and the counting convention."""

    values: Mapping[str, int]
    convention: str | None = None


@dataclass(frozen=True)
class Verify:
    """How to verify: whether to run torch at all, where, at which batch size, and the dtype of the memory figures."""

    enabled: bool = True
    device: str = "auto"
    batch: int = 2
    dtype: str = "float32"


@dataclass(frozen=True)
class Output:
    """How to render: the format, the table width, the view (shapes or rf) and the module-table depth."""

    fmt: str
    width: int | None = None
    view: str = "shapes"
    depth: int | None = None
    expand: bool = False  # a row per layer (default: a layer repeated in a chain is one row, ReLU ×9000)


@dataclass(frozen=True)
class PyTarget:
    """What a Python target (model.py:Net) needs: input shapes and dtypes, constructor arguments."""

    inputs: tuple[str, ...] = ()
    input_dtypes: tuple[str, ...] = ()
    kwargs_json: str | None = None
    kwargs_file: str | None = None
    verbose: bool = False

    @property
    def given(self) -> bool:
        """Whether any Python-target option was given."""
        return bool(self.inputs or self.input_dtypes or self.kwargs_json or self.kwargs_file)

    def kwargs(self) -> dict[str, object]:
        """The constructor arguments (--kwargs or --kwargs-file)."""
        from .pymodel.load import parse_kwargs

        return parse_kwargs(self.kwargs_json, self.kwargs_file)

    def load(self, target: str) -> tuple[Target, tuple[InputSpec, ...]]:
        """The instantiated target and its parsed input specs."""
        from . import pymodel
        from .pymodel.inputs import parse_inputs

        specs = parse_inputs(self.inputs, self.input_dtypes) if self.inputs else None
        loaded = pymodel.load(target, self.kwargs())
        self.list_skipped(loaded)
        if specs is None:  # a built Keras model knows its input; anything else needs --input
            from .keras.target import is_keras_model

            specs = () if is_keras_model(loaded.model) else parse_inputs(self.inputs, self.input_dtypes)
        return loaded, specs

    @staticmethod
    def keras(loaded: Target, specs: tuple[InputSpec, ...], values: Mapping[str, int]) -> ArchSpec | None:
        """A Keras model's spec (its get_config() through the Keras reader), or None for any other model."""
        from .keras.target import is_keras_model

        if not is_keras_model(loaded.model):
            return None
        from .keras.target import spec

        return spec(loaded.model, specs, values, loaded.text)

    def list_skipped(self, loaded: Target) -> None:
        """With --verbose, what a notebook target skipped, one located note per line on stderr."""
        for note in loaded.notes if self.verbose else ():
            _echo(note, err=True)

    def source(self, target: str, values: Mapping[str, int]) -> str | ArchSpec:
        """An architecture file as is; a Python target as its traced spec (for rf and explain)."""
        from . import pymodel

        if not pymodel.is_python_target(target):
            return self.file_source(target)
        model, specs = self.load(target)
        return self.keras(model, specs, values) or pymodel.spec(model, specs, values)

    def file_source(self, target: str) -> str | ArchSpec:
        """An architecture file as is; a saved Keras model (.keras, .json, .h5) read, with --input if given."""
        from .keras import is_keras_file

        if not is_keras_file(target):
            self.refuse_for_yaml()
            return target
        from .keras.files import spec
        from .pymodel.inputs import parse_inputs

        return spec(target, parse_inputs(self.inputs, self.input_dtypes) if self.inputs else ())

    def refuse_for_yaml(self) -> None:
        """An architecture file declares its input; Python-target options make no sense for it."""
        if self.given:
            raise click.UsageError("--input, --input-dtype and --kwargs are for Python targets (model.py:Net); "
                                   "an architecture file declares its input")  # fmt: skip


def version_text() -> str:
    """``cnncalc 0.1.0 (verifies with torch 2.13.0+cpu)``: torch's version from its metadata, torch not imported."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        torch = f"verifies with torch {version('torch')}"
    except PackageNotFoundError:
        torch = "torch is not installed: it is needed to verify (pip install torch)"
    return f"cnncalc {__version__} ({torch})"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-V", "--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show cnncalc's version and the torch version it verifies with, and exit.")  # fmt: skip
def main() -> None:
    """Layer-by-layer output sizes and parameter counts of CNNs, derived symbolically and proven with torch."""


@main.command()
@click.argument("file", metavar="TARGET")
@click.option(
    "--set", "set_", multiple=True, metavar="NAME=N", help="Give a symbol a value, e.g. --set H=64 (repeatable)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown", "csv", "keras"]),
    default="table",
    show_default=True,
    help="Output format (Python targets: table or json); keras prints what Keras' model.summary() prints.",
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
    help="Where the forward pass runs; auto is CUDA when available, else CPU (a Python model: where it is).",
)
@click.option(
    "--batch", type=click.IntRange(1, 1024), default=2, show_default=True, help="Batch size of the forward pass."
)
@click.option("--width", type=click.IntRange(40, 400), default=None, help="Table width (default: terminal).")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16"]), default="float32",
              show_default=True, help="Element type for the memory figures.")  # fmt: skip
@click.option("--depth", type=click.IntRange(0, 64), default=None,
              help="Python targets: show modules down to this nesting depth (totals always count everything).")  # fmt: skip
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
@_expand_option
@_convention_option
@_target_options
def shapes(file: str, set_: tuple[str, ...], fmt: str, verify: bool, device: str, batch: int, width: int | None,
           dtype: str, depth: int | None, traceback: bool, expand: bool, convention: str | None,
           inputs: tuple[str, ...], input_dtypes: tuple[str, ...], kwargs_json: str | None, kwargs_file: str | None,
           verbose: bool) -> None:  # fmt: skip
    """Every layer's output shape, parameters, MACs and receptive field; verified with torch.

    TARGET is an architecture file (arch.yaml) or a Python model: path/to/model.py:Net,
    package.module:factory or a Jupyter notebook course.ipynb:Net, with --input 3x28x28. A Python
    model runs once with forward hooks and shows the nested module table; with symbols in --input
    (3xHxW) it is traced with torch.fx and analysed symbolically like a YAML file. Importing a
    Python target executes its code; of a notebook, only the imports, function and class
    definitions and literal constants run (never training loops, downloads, !pip or %magics).
    """
    derive = Derive(_parse_set(set_), convention)
    check = Verify(verify, device, batch, dtype)
    out = Output(fmt, width, "shapes", depth, expand)
    py = PyTarget(inputs, input_dtypes, kwargs_json, kwargs_file, verbose)
    _guard(lambda: _shapes(file, derive, check, out, py), traceback)


def _shapes(file: str, derive: Derive, check: Verify, out: Output, py: PyTarget) -> int:
    from .pymodel import is_python_target

    if not is_python_target(file):
        return _report(py.file_source(file), derive, check, out)
    model, specs = py.load(file)
    keras = py.keras(model, specs, derive.values)
    if keras is not None:  # checked by torch, and by Keras' own forward pass
        return _report(keras, derive, check, out, keras_model=model.model)
    if any(s.symbols for s in specs) and not all(n in derive.values for s in specs for n in s.symbols):
        from .pymodel import spec

        return _report(spec(model, specs, derive.values), derive, check, out)
    return _modules(model, specs, derive, check, out)


def _modules(model: Target, specs: tuple[InputSpec, ...], derive: Derive, check: Verify, out: Output) -> int:
    from .pymodel import modules
    from .render import modules as render

    if out.fmt not in ("table", "json"):
        raise click.UsageError(f"--format {out.fmt} is for architecture files; a Python target has table or json")
    rep = modules(model, specs, derive.values, "auto" if check.device == "meta" else check.device, check.batch)
    if out.fmt == "json":
        _echo(render.to_json(rep), nl=False)
    else:
        from rich.console import Console

        width = _table_width(out)
        console = Console(width=width or 100_000, highlight=False)
        from .render.fit import safe

        console.print(render.table(rep, out.depth, width))
        for line in render.summary_lines(rep):
            console.print(safe(line), markup=False, soft_wrap=width is None)
    if rep.crash is not None:
        _echo(rep.crash.line(), err=True)
    for f in rep.failures:
        if f.name == "accepted sizes":
            _echo(f"error: {f.message}", err=True)
    return EXIT_CHECK if not rep.ok else EXIT_OK  # a crash, a rule torch disagrees with, sizes it cannot take


@main.command()
@click.argument("file", metavar="TARGET")
@click.option("--set", "set_", multiple=True, metavar="NAME=N", help="Give a symbol a value, e.g. --set H=64.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format (the JSON is the same document as 'cnncalc shapes').")  # fmt: skip
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check every region against torch input gradients (--no-verify does not import torch).")  # fmt: skip
@click.option("--width", type=click.IntRange(40, 400), default=None, help="Table width (default: terminal).")
@click.option("--draw", "draw_to", default=None, metavar="FILE",
              help="Also draw one unit's receptive field, at the input and every layer on the way, to FILE "
                   "(.svg, .png, .pdf or .tex for TikZ).")  # fmt: skip
@click.option("--unit", default=None, metavar="ID[@i,j]",
              help="The unit --draw draws: a layer id, and its unit's indices from 0 (default: the centre unit of "
                   "the last layer with a spatial output).")  # fmt: skip
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
@_expand_option
@_convention_option
@_target_options
def rf(file: str, set_: tuple[str, ...], fmt: str, verify: bool, width: int | None, draw_to: str | None,
       unit: str | None, traceback: bool, expand: bool, convention: str | None, inputs: tuple[str, ...],
       input_dtypes: tuple[str, ...], kwargs_json: str | None, kwargs_file: str | None, verbose: bool) -> None:  # fmt: skip
    """Receptive field of every layer of TARGET (arch.yaml, or model.py:Net / course.ipynb:Net --input ... traced
    by torch.fx; of a notebook only imports, definitions and literal constants run)."""
    derive = Derive(_parse_set(set_), convention)
    py = PyTarget(inputs, input_dtypes, kwargs_json, kwargs_file, verbose)
    check, out = Verify(verify, "cpu"), Output(fmt, width, "rf", expand=expand)
    if unit is not None and draw_to is None:
        raise click.UsageError("--unit picks the unit that --draw draws; add --draw rf.svg")

    def drawing(report: ShapesReport) -> int:
        return _draw_unit(report, unit, draw_to, verify) if draw_to else EXIT_OK

    def run() -> int:
        _writable(draw_to, "--draw")
        return _report(py.source(file, derive.values), derive, check, out, drawing)

    _guard(run, traceback)


def _report(source: str | ArchSpec, derive: Derive, check: Verify, out: Output,
            then: Callable[[ShapesReport], int] | None = None, keras_model: Any = None) -> int:  # fmt: skip
    import contextlib

    from . import budget
    from .pipeline import shapes as derive_shapes

    # --timeout covers all the work on an architecture file up to the last byte written, the table included
    # (a Python model's runs have their own limits, each)
    with budget.deadline() if isinstance(source, str) else contextlib.nullcontext():
        with _progress_bar(check.enabled) as progress:
            report = derive_shapes(source, derive.values, verify=check.enabled, device=check.device,
                                   batch=check.batch, progress=progress, dtype=check.dtype,
                                   convention=derive.convention)  # fmt: skip
        if keras_model is not None and check.enabled:
            from .keras.target import checked

            report = checked(report, keras_model)
        _render(report, out)
        return max(_report_problems(report), then(report) if then else EXIT_OK)


def _draw_unit(report: ShapesReport, unit: str | None, path: str, verify: bool) -> int:
    """``rf --draw``: the unit's receptive field, confirmed by input gradients unless --no-verify."""
    from .analysis.unitfield import find_unit, unit_field
    from .render import draw as pictures

    fmt = pictures.format_of(path)
    pictures.require(fmt)
    field = unit_field(report.defaults, *find_unit(report.defaults, unit))
    if verify:
        from .verify.unitfield import confirm

        field = confirm(field)
    _written(lambda: pictures.receptive_field(field).save(path, fmt), path, "--draw")
    for i in field.disagreements:
        assert field.confirmed is not None
        _echo(f"error: receptive field of unit {field.unit} of {field.name(field.layer)!r} at {field.name(i)!r}: "
                   f"derived {len(field.sets[i])} units, the input gradient gives {len(field.confirmed[i])}", err=True)  # fmt: skip
    return EXIT_CHECK if field.disagreements else EXIT_OK


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


def _table_width(out: Output) -> int | None:
    """--width, else the terminal's; None when stdout is a pipe or a log: tables take the width they need."""
    if out.width is not None:
        return out.width
    if not sys.stdout.isatty():
        return None
    from rich.console import Console

    return Console().width


def _render(report: ShapesReport, out: Output) -> None:
    if out.fmt == "table":
        from rich.console import Console

        from .render.table import print_report, print_rf

        width = _table_width(out)
        console = Console(width=width or 100_000, highlight=False)
        (print_rf if out.view == "rf" else print_report)(report, console, width, out.expand)
        return
    from .render import formats
    from .render.keras_summary import with_verification

    writers: dict[str, Callable[[ShapesReport], str]] = {
        "json": formats.to_json, "csv": formats.to_csv, "markdown": lambda r: formats.to_markdown(r, out.expand),
        "keras": lambda r: with_verification(r, out.width, out.expand)}  # fmt: skip
    text = writers[out.fmt](report)
    _echo(text, nl=False)


@main.command()
@click.argument("file", metavar="TARGET")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Write the picture to FILE; the extension picks the format (.svg, .png, .pdf, .tex for TikZ). "
                   "Default: standard output.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "pdf", "tikz"]), default=None,
              help="Picture format (default: from the extension of -o, else svg). tikz is a standalone LaTeX file.")  # fmt: skip
@click.option("--collapse", is_flag=True,
              help="Draw each outermost block or repeat (a Python model: each top-level module) as one box.")  # fmt: skip
@click.option("--direction", type=click.Choice(["lr", "tb"]), default="lr", show_default=True,
              help="Layout direction: left to right, or top to bottom.")  # fmt: skip
@click.option("--title", default=None, help="The title line (default: network, input and parameters; '' for none).")
@click.option("--fit", default=None, metavar="WIDTH",
              help="Fit a page or column width (16cm, 160mm, 6.3in, 450pt, 600px): scaled to it, laid out in rows "
                   "first where scaling would set the text below 7 pt.")  # fmt: skip
@click.option("--set", "set_", multiple=True, metavar="NAME=N",
              help="Give a symbol a value; labels of a symbolic file stay in symbols until every symbol is set.")  # fmt: skip
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check every number on the picture with a torch forward pass (--no-verify says it did not).")  # fmt: skip
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps", "meta"]), default="auto",
              show_default=True, help="Where the forward pass runs.")  # fmt: skip
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
@_convention_option
@_target_options
def draw(file: str, output: str | None, fmt: str | None, collapse: bool, direction: str, title: str | None,
         fit: str | None, set_: tuple[str, ...], verify: bool, device: str, traceback: bool, convention: str | None,
         inputs: tuple[str, ...], input_dtypes: tuple[str, ...], kwargs_json: str | None,
         kwargs_file: str | None, verbose: bool) -> None:  # fmt: skip
    """Draw TARGET for a report: one box per feature map, labelled with its verified shape and parameters.

    TARGET is an architecture file or a Python model (model.py:Net --input 3x32x32): traced by
    torch.fx when it can be (the whole graph), else run with hooks (its modules in call order).
    A layer torch contradicts is drawn in red with torch's value, and the exit code is 1.
    """
    derive = Derive(_parse_set(set_), convention)
    check = Verify(verify, device)
    py = PyTarget(inputs, input_dtypes, kwargs_json, kwargs_file, verbose)

    def run() -> int:
        from .render import draw as pictures

        _writable(output, "-o")
        picked = pictures.format_of(output, fmt) if output else fmt or "svg"
        pictures.require(picked)
        if fit is not None:
            pictures.parse_width(fit)  # a bad width is said before any work
        if output is None and picked in ("png", "pdf") and sys.stdout.isatty():
            raise click.UsageError(f"{picked.upper()} is not for a terminal; write it to a file with -o net.{picked}")
        report = _network(file, derive, check, py)
        figure = pictures.network(report, collapse, direction, title, fit)
        size = figure.scene.meta.get("render_size")
        if isinstance(size, tuple) and not collapse and figure.scene.height > 1.5 * figure.scene.width:
            _echo(f"note: the figure is {size[0]} × {size[1]}; --collapse draws each block as one box", err=True)
        if output is not None:
            _written(lambda: figure.save(output, picked), output, "-o")
        else:
            data = figure.render(picked)
            if isinstance(data, str):
                _echo(data, nl=False)
            else:
                sys.stdout.buffer.write(data)
        return _report_problems(report)

    _guard(run, traceback)


def _network(file: str, derive: Derive, check: Verify, py: PyTarget) -> ReportBase:
    """The report a picture is drawn from: an architecture file's, a traced Python model's, or a hooked run's."""
    from . import pymodel
    from .pipeline import shapes as derive_shapes

    source: str | ArchSpec = file
    if pymodel.is_python_target(file):
        model, specs = py.load(file)
        try:
            source = py.keras(model, specs, derive.values) or pymodel.spec(model, specs, derive.values)
        except CnnCalcError:  # not traceable by torch.fx: run it with hooks
            if any(s.symbols for s in specs) and not all(n in derive.values for s in specs for n in s.symbols):
                raise
            device = "auto" if check.device == "meta" else check.device
            return pymodel.modules(model, specs, derive.values, device, check.batch)
    else:
        source = py.file_source(file)
    return derive_shapes(source, derive.values, verify=check.enabled, device=check.device, batch=check.batch,
                         convention=derive.convention)  # fmt: skip


@main.command()
@click.argument("file", metavar="TARGET")
@click.option(
    "--layer", default=None, metavar="ID", help="Explain only this layer (its id, e.g. conv1 or layer1.0.conv1)."
)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "latex"]), default="text", show_default=True,
              help="text for the terminal, markdown or latex (a complete document) for reports.")  # fmt: skip
@click.option("--set", "set_", multiple=True, metavar="NAME=N", help="Give a symbol a value, e.g. --set H=64.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check every result with a real torch forward pass (--no-verify does not import torch).")  # fmt: skip
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
@_convention_option
@_target_options
def explain(file: str, layer: str | None, fmt: str, set_: tuple[str, ...], verify: bool, traceback: bool,
            convention: str | None, inputs: tuple[str, ...], input_dtypes: tuple[str, ...], kwargs_json: str | None,
            kwargs_file: str | None, verbose: bool) -> None:  # fmt: skip
    """Step-by-step derivation per layer: output size, parameters and receptive field, with the numbers.

    TARGET is an architecture file or a Python model traceable by torch.fx (model.py:Net or
    course.ipynb:Net --input 3x28x28; of a notebook only imports, definitions and literal constants run).
    """
    derive = Derive(_parse_set(set_), convention)
    py = PyTarget(inputs, input_dtypes, kwargs_json, kwargs_file, verbose)

    def run() -> int:
        import contextlib

        from . import budget
        from .pipeline import explain as derive_steps
        from .render.derivation import render

        source = py.source(file, derive.values)
        with budget.deadline() if isinstance(source, str) else contextlib.nullcontext():  # up to the last byte
            expl = derive_steps(source, derive.values, layer, verify=verify, convention=derive.convention)
            _echo(render(expl, fmt), nl=False)
        return _report_problems(expl.report)

    _guard(run, traceback)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--set", "set_", multiple=True, metavar="NAME=N", help="Fix a symbol (known or unknown), e.g. --set s=2.")
@click.option("--max", "high", type=click.IntRange(1, 1_000_000), default=None,
              help="Search each unknown up to this value (default: the largest input size; 4096 for sizes).")  # fmt: skip
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="List at most this many solutions.")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format.")  # fmt: skip
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Run each solution in torch (and confirm torch's refusals).")  # fmt: skip
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
@_limit_options
def solve(file: str, set_: tuple[str, ...], high: int | None, limit: int, fmt: str, verify: bool,
          traceback: bool) -> None:  # fmt: skip
    """Solve the unknown (null) symbols of FILE from its expect: entries; list every solution, verified."""
    values = _parse_set(set_)

    def run() -> int:
        from .pipeline import solve_file
        from .render import solution

        report = solve_file(file, values, high, limit, verify=verify)
        _echo(solution.to_json(report) if fmt == "json" else solution.to_text(report, file), nl=False)
        return EXIT_OK if report.ok else EXIT_CHECK

    _guard(run, traceback)


def _explain_options(fn: Callable[..., None]) -> Callable[..., None]:
    fn = _limit_options(fn, timeout=False)
    fn = click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")(fn)
    fn = click.option("--verify/--no-verify", default=True, show_default=True,
                      help="Check the result with a real torch forward pass.")(fn)  # fmt: skip
    return click.option("--format", "fmt", type=click.Choice(["text", "markdown", "latex"]), default="text",
                        show_default=True, help="text, markdown or latex (a complete document).")(fn)  # fmt: skip


def _size_options(fn: Callable[..., None], kinds: tuple[str, ...]) -> Callable[..., None]:
    helps = {
        "output_padding": ("--output-padding", "Extra size added on one side (transposed convolution)."),
        "dilation": ("-d", "Dilation (spacing of the kernel taps)."),
        "padding": ("-p", "Zero padding on each side."),
        "stride": ("-s", "Stride" + (" (default: the kernel size)" if "output_padding" not in kinds and
                                     "dilation" not in kinds else "") + "."),
        "kernel_size": ("-k", "Kernel size."),
    }  # fmt: skip
    for name in ("output_padding", "dilation", "padding", "stride", "kernel_size"):
        if name in kinds:
            flag, text = helps[name]
            long = "--" + name.replace("_size", "").replace("_", "-")
            decls = (flag, long) if flag != long else (flag,)
            fn = click.option(*decls, name, default=None, metavar="N|HxW|auto",
                              help=text + " auto (or a quoted '?') = solve for it from --out-size.")(fn)  # fmt: skip
    fn = click.option("--max", "high", type=click.IntRange(1, 1_000_000), default=None,
                      help="Search an unknown up to this value (default: twice the input size).")(fn)  # fmt: skip
    fn = click.option("--verbose", is_flag=True,
                      help="With --out-size: list every solution (default: the first 8, and refused ones counted).")(fn)  # fmt: skip
    return click.option("--out-size", "--out", "out", default=None, metavar="N|HxW",
                        help="The output size: solve for the quantity not given (the kernel size if -k is missing; "
                             "else the stride or the padding, whichever alone is missing; with both missing they "
                             "keep their defaults and the size is checked), or every one written auto.")(fn)  # fmt: skip


_SIZE_HELP = ("SIZE is the input's spatial size, without channels: 512 (1-d), 227x227 (2-d) or 32x64x64 (3-d: "
              "depth x height x width); give the channels with -c.")  # fmt: skip


def _channel_options(fn: Callable[..., None]) -> Callable[..., None]:
    fn = click.option("-f", "--filters", "--out-channels", "c_out", type=click.IntRange(1, 1_000_000), default=None,
                      help="Output channels (filters): the answer then has the parameters and MACs.")(fn)  # fmt: skip
    return click.option("-c", "--in-channels", "c_in", type=click.IntRange(1, 1_000_000), default=None,
                        help="Input channels: the answer then has the parameters and MACs.")(fn)  # fmt: skip


def _calculator(kind: str, command: str, size: str, quantities: Mapping[str, str | None], out: str | None,
                extra: Mapping[str, bool] | None = None, c_in: int | None = None, c_out: int | None = None,
                high: int | None = None, verbose: bool = False) -> Any:  # fmt: skip
    from .render.answers import Calculator

    return Calculator(kind, command, size, quantities, out, extra, c_in, c_out, high, verbose)


def _calculate(c: Any, fmt: str, verify: bool, traceback: bool) -> None:
    """A size calculator's answer (render/answers.py, shared with the web page), echoed."""

    def run() -> int:
        from .render.answers import window_answer

        return _echo_answer(window_answer(c, fmt, verify))

    _guard(run, traceback)


def _echo_answer(answer: Any) -> int:
    _echo(answer.out, nl=False)
    for line in answer.err:
        _echo(line, err=True)
    return int(answer.code)


@main.command(epilog=_SIZE_HELP)
@click.argument("size")
@_channel_options
@_explain_options
def conv(size: str, kernel_size: str | None, stride: str | None, padding: str | None, dilation: str | None,
         out: str | None, high: int | None, c_in: int | None, c_out: int | None, fmt: str, verify: bool,
         traceback: bool, verbose: bool) -> None:  # fmt: skip
    """Output size of a convolution on SIZE, with the formula; with -c and -f also its parameters and MACs.

    cnncalc conv 227x227 -k 11 -s 4 -c 3 -f 96 gives 96x55x55 and 34,944 parameters;
    cnncalc conv 224 --out-size 112 -k 7 -s 2 solves for the padding.
    """
    q = {"kernel_size": kernel_size, "stride": stride, "padding": padding, "dilation": dilation}
    _calculate(_calculator("Conv", "conv", size, q, out, None, c_in, c_out, high, verbose), fmt, verify, traceback)


conv = _size_options(conv, ("kernel_size", "stride", "padding", "dilation"))  # type: ignore[assignment]


@main.command(epilog=_SIZE_HELP)
@click.argument("size")
@click.option("--ceil", is_flag=True, help="ceil_mode=True: round up (the last window may hang over the edge).")
@click.option("--avg", is_flag=True, help="Average pooling (default: max pooling; sizes are the same).")
@_explain_options
def pool(size: str, kernel_size: str | None, stride: str | None, padding: str | None, dilation: str | None,
         out: str | None, high: int | None, ceil: bool, avg: bool, fmt: str, verify: bool,
         traceback: bool, verbose: bool) -> None:  # fmt: skip
    """Output size of a pooling layer on SIZE, with the formula; --out-size solves for the missing quantity."""
    if avg and dilation is not None:
        _fail("cnncalc pool: error: average pooling has no dilation; hint: drop -d or use max pooling", EXIT_INPUT)
    quantities = {"kernel_size": kernel_size, "stride": stride, "padding": padding}
    if not avg:
        quantities["dilation"] = dilation
    calc = _calculator("AvgPool" if avg else "MaxPool", "pool", size, quantities, out,
                       {"ceil_mode": True} if ceil else None, high=high, verbose=verbose)  # fmt: skip
    _calculate(calc, fmt, verify, traceback)


pool = _size_options(pool, ("kernel_size", "stride", "padding", "dilation"))  # type: ignore[assignment]


@main.command(epilog=_SIZE_HELP)
@click.argument("size")
@_channel_options
@_explain_options
def convt(size: str, kernel_size: str | None, stride: str | None, padding: str | None, dilation: str | None,
          output_padding: str | None, out: str | None, high: int | None, c_in: int | None, c_out: int | None,
          fmt: str, verify: bool, traceback: bool, verbose: bool) -> None:  # fmt: skip
    """Output size of a transposed convolution on SIZE, with the formula; with -c and -f its parameters and MACs."""
    q = {"kernel_size": kernel_size, "stride": stride, "padding": padding, "dilation": dilation,
         "output_padding": output_padding}  # fmt: skip
    calc = _calculator("ConvTranspose", "convt", size, q, out, None, c_in, c_out, high, verbose)
    _calculate(calc, fmt, verify, traceback)


convt = _size_options(convt, ("kernel_size", "stride", "padding", "dilation", "output_padding"))  # type: ignore[assignment]


@main.command()
@click.argument("kind", type=click.Choice(["conv", "convt", "linear", "batchnorm"]))
@click.option("-k", "--kernel", default=None, metavar="N|HxW", help="Kernel size (conv, convt).")
@click.option("-c", "--in-channels", "--in-features", "--in", "c_in", type=click.IntRange(1), required=True,
              help="Input channels (input features for linear; --in is the old spelling).")  # fmt: skip
@click.option("-f", "--filters", "--out-channels", "--out-features", "--out", "c_out", type=click.IntRange(1),
              default=None, help="Output channels (output features for linear; --out is the old spelling).")  # fmt: skip
@click.option("--groups", type=click.IntRange(1), default=1, show_default=True, help="Convolution groups.")
@click.option("--bias/--no-bias", default=True, show_default=True, help="Whether the layer has a bias.")
@click.option("--dims", type=click.IntRange(1, 3), default=2, show_default=True,
              help="Spatial dims when -k is one number (Conv1d/2d/3d).")  # fmt: skip
@_explain_options
@_convention_option
def params(kind: str, kernel: str | None, c_in: int, c_out: int | None, groups: int, bias: bool, dims: int, fmt: str,
           verify: bool, traceback: bool, convention: str | None) -> None:  # fmt: skip
    """Parameter count of one layer, with the working: (k*k*C_in/g + 1)*C_out for a convolution."""

    def run() -> int:
        from .render.answers import params_answer

        return _echo_answer(params_answer(kind, kernel, c_in, c_out, groups, bias, dims, fmt, verify, convention))

    _guard(run, traceback)


@main.command()
@click.option("--image", required=True, help='The image, rows split by ";": "1 0 2 3 1; 3 2 0 7 0; 0 6 1 1 4".')
@click.option("--kernel", required=True, help='The kernel, same notation: "-1 0 1; -2 0 2; -1 0 1".')
@click.option("--padding", default="0", show_default=True, metavar="N|same",
              help="Zero padding on each side; same keeps the size (odd kernel, stride 1).")  # fmt: skip
@click.option("--stride", type=click.IntRange(1, 64), default=1, show_default=True, help="Stride.")
@click.option("--flip", is_flag=True, help="Rotate the kernel by 180 degrees first (true convolution).")
@click.option("--steps", is_flag=True, help="Show each output element's sum of products.")
@click.option("--draw", "draw_to", default=None, metavar="FILE",
              help="Also draw the padded image, kernel and output with one window and its sum (.svg, .png, .pdf, .tex).")  # fmt: skip
@click.option("--at", default="0,0", show_default=True, metavar="i,j",
              help="The output element --draw highlights (row and column from 0, as torch indexes, the working "
                   "and the figures count).")  # fmt: skip
@click.option("--frames", default=None, metavar="DIR",
              help="Also write one picture per output element to DIR, for slides (the format of --draw, else SVG).")  # fmt: skip
@_explain_options
def convolve(image: str, kernel: str, padding: str, stride: int, flip: bool, steps: bool, draw_to: str | None,
             at: str, frames: str | None, fmt: str, verify: bool, traceback: bool) -> None:  # fmt: skip
    """A small numeric 2-d convolution (cross-correlation, as torch), with its working; checked against torch."""

    def run() -> int:
        from .convolve import convolve as compute
        from .convolve import parse_matrix, torch_check
        from .render import convolution

        _writable(draw_to, "--draw")
        _writable(frames, "--frames", folder=True)
        img, ker = parse_matrix(image, "--image"), parse_matrix(kernel, "--kernel")
        if padding != "same" and not (padding.isascii() and padding.isdigit() and int(padding) <= 64):
            raise CnnCalcError(f"--padding {padding!r}: expected a number from 0 to 64, or same", None)
        result = compute(img, ker, padding if padding == "same" else int(padding), stride, flip)
        problem = torch_check(img, ker, result) if verify else None
        check = ("Not verified (--no-verify)." if not verify else
                 "Verified: torch.nn.functional.conv2d gives the same matrix." if problem is None else
                 f"MISMATCH: {problem}")  # fmt: skip
        writer = {"text": convolution.to_text, "markdown": convolution.to_markdown, "latex": convolution.to_latex}
        _echo(writer[fmt](img, ker, result, steps, check), nl=False)
        if draw_to or frames:
            _draw_convolution(result, img, draw_to, at, frames)
        return EXIT_OK if problem is None else EXIT_CHECK

    _guard(run, traceback)


def _draw_convolution(result: Convolution, image: Matrix, path: str | None, at: str, frames: str | None) -> None:
    from pathlib import Path

    from .render import draw as pictures

    row, _, col = at.partition(",")
    if not (row.strip().isascii() and row.strip().isdigit() and col.strip().isascii() and col.strip().isdigit()):
        raise click.BadParameter(f"{at!r}: expected ROW,COLUMN from 0, e.g. 1,2", param_hint="--at")
    fmt = pictures.format_of(path) if path else "svg"
    pictures.require(fmt)
    i, j = int(row), int(col)
    if path:
        _written(lambda: pictures.convolution(result, image, (i, j)).save(path, fmt), path, "--draw")
    if frames:
        folder = Path(frames)
        _written(lambda: folder.mkdir(parents=True, exist_ok=True), frames, "--frames")
        suffix = {"tikz": ".tex"}.get(fmt, "." + fmt)
        for i, line in enumerate(result.output):
            for j in range(len(line)):
                pictures.convolution(result, image, (i, j)).save(folder / f"out_{i:02d}_{j:02d}{suffix}", fmt)
        _echo(f"wrote {len(result.output) * len(result.output[0])} frames to {folder}", err=True)


def _report_problems(report: ReportBase) -> int:
    """Each failed finding as one located line on stderr; exit 1 when there is one."""
    for f in report.failures:
        _echo(f.line(), err=True)
    return EXIT_OK if report.ok else EXIT_CHECK


@main.command()
@click.argument("target", metavar="TARGET")
@_target_options
@click.option("--sizes", default=None, metavar="28,32,64",
              help="Run at each of these sizes: every symbol of --input (or of the file) takes each value.")  # fmt: skip
@click.option("--set", "set_", multiple=True, metavar="NAME=N", help="Fix a symbol, e.g. --set H=28 (repeatable).")
@click.option("--expect-output", multiple=True, metavar="53|16xHxW",
              help="The expected per-sample output shape (once per output tensor of a model with several).")  # fmt: skip
@click.option("--max-params", type=click.IntRange(0), default=None, help="Fail when the model has more parameters.")
@click.option("--against", default=None, metavar="ARCH.yaml",
              help="Compare a Python model with its architecture file, layer by layer (shapes and parameters).")  # fmt: skip
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True,
              help="Where to run (auto: where the model is, or CUDA when available for an architecture file).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="text, json, or github (workflow annotations ::error file=...,line=...:: for each failure).")  # fmt: skip
@click.option("--junit-xml", default=None, metavar="PATH", help="Also write the results as JUnit XML to PATH.")
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
def check(target: str, sizes: str | None, set_: tuple[str, ...], expect_output: tuple[str, ...],
          max_params: int | None, against: str | None, device: str, fmt: str, junit_xml: str | None,
          traceback: bool, inputs: tuple[str, ...], input_dtypes: tuple[str, ...], kwargs_json: str | None,
          kwargs_file: str | None, verbose: bool) -> None:  # fmt: skip
    """Check an architecture file or a Python model for CI: exit 0 all hold, 1 a check failed, 2 bad input.

    A Python model (path/to/model.py:Net or package.module:factory, with --input) runs at each
    size and at two batch sizes: the forward pass must work (a crash is located to the innermost
    module and source line and explained in shapes), the batch size must be kept, and samples must
    not mix. Importing a Python target executes its code, as pytest does; YAML never executes code.
    A notebook (course.ipynb:Net) runs only its imports, function and class definitions and literal
    constants: training loops, downloads, !pip lines and %magics are skipped (--verbose lists them).
    """
    values = _parse_set(set_)
    py = PyTarget(inputs, input_dtypes, kwargs_json, kwargs_file, verbose)

    def run() -> int:
        from .checks import CheckOptions
        from .checks import check as run_checks
        from .render import findings

        _writable(junit_xml, "--junit-xml")
        if verbose and target.rsplit(":", 1)[0].endswith(".ipynb"):
            from . import pymodel

            py.list_skipped(pymodel.load(target, py.kwargs()))

        opts = CheckOptions(tuple(expect_output), max_params, _parse_sizes(sizes), values, against, device)
        report = run_checks(target, opts, py.inputs, py.input_dtypes, py.kwargs())
        writer = {"text": findings.to_text, "json": findings.to_json, "github": findings.to_github}[fmt]
        _echo(writer(report), nl=False)
        if junit_xml:
            from pathlib import Path

            _written(lambda: Path(junit_xml).write_text(findings.to_junit(report), encoding="utf-8"), junit_xml,
                     "--junit-xml")  # fmt: skip
        return EXIT_OK if report.ok else EXIT_CHECK

    _guard(run, traceback)


def _parse_sizes(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isascii() and p.isdigit() and 0 < int(p) <= 1_000_000 for p in parts):
        raise click.BadParameter(f"{text!r}: expected sizes from 1 to 1000000 like 28,32,64", param_hint="--sizes")
    return tuple(int(p) for p in parts)


class _LayersCommand(click.Command):
    """``cnncalc layers --help`` lists the layer types (read from the catalogue only when help is asked for)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from .layers import CATALOGUE

        with formatter.section(f"Layer types ({len(CATALOGUE)}; torch's names, and Keras' names)"):
            formatter.write_text(", ".join(sorted(CATALOGUE, key=str.lower)))
        formatter.write_paragraph()
        formatter.write_text("See one type's arguments and formulas: cnncalc layers Conv2d")


@main.command(cls=_LayersCommand)
@click.argument("name", required=False)
def layers(name: str | None) -> None:
    """List the supported layer types, or show one type's arguments and formulas (cnncalc layers NAME)."""
    from . import symbolic as sym
    from .layers import CATALOGUE, REQUIRED

    if name is None:
        for type_name in sorted(CATALOGUE):
            _echo(type_name)
        return
    if name not in CATALOGUE:
        from .errors import did_you_mean

        _fail(
            f"error: unknown layer type {name!r}; hint: {did_you_mean(name, CATALOGUE) or 'see cnncalc layers'}",
            EXIT_INPUT,
        )
    t = CATALOGUE[name]
    _echo(f"{t.name}")
    for inferred in t.inferred:
        _echo(f"  {inferred}: inferred from the input (checked if written)")
    for arg_name, arg in t.args.items():
        default = "required" if arg.default is REQUIRED else f"default {arg.default!r}"
        _echo(f"  {arg_name}: {arg.kind}, {default}" + (f" ({arg.note})" if arg.note else ""))
    for key, text in t.formulas().items():
        _echo(f"  {key}: {sym.readable_formula(text)}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default serves this machine only (the page runs torch for whoever "
                   "reaches it).")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: a free one, printed).")  # fmt: skip
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Torch verifications run at once; more wait in a queue.")  # fmt: skip
@click.option("--queue", "queue_size", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Verifications that may wait; past it the page says busy.")  # fmt: skip
@click.option("--traceback", is_flag=True, help="Show the Python traceback on errors.")
@_limit_options
def serve(host: str, port: int, open_browser: bool, workers: int, queue_size: int, traceback: bool) -> None:
    """A local web page: an editor for architecture files with the derived table as you type, verified with torch
    in the background, the figures, the calculators and the exports (needs the web extra: pip install
    'cnncalc[web]'). --timeout and --max-memory hold for each request."""

    def run() -> int:
        import os
        import subprocess

        from . import budget, web

        web.require()
        argv = [sys.executable, "-m", "cnncalc.web", "--host", host, "--port", str(port), "--workers", str(workers),
                "--queue", str(queue_size), "--timeout", str(budget.timeout() or 0),
                "--max-memory", str(budget.max_memory())] + (["--open"] if open_browser else []) + (
                ["--traceback"] if traceback else [])  # fmt: skip
        sys.stdout.flush()
        sys.stderr.flush()
        if os.name == "posix":  # the server program takes this process's place (Ctrl+C and signals reach it)
            os.execv(sys.executable, argv)
        return subprocess.call(argv)

    _guard(run, traceback)
