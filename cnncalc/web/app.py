"""The web page's server: JSON endpoints over the library core and the existing renderers.

A front end like ``cli.py``: it gathers the page's input (the architecture text, the symbol values,
a calculator's quantities), calls the core (:mod:`cnncalc.pipeline`, :mod:`cnncalc.calculators`,
:mod:`cnncalc.convolve`) and renders with what the CLI renders with, so every number, message and
file is the CLI's. The endpoints are documented in docs/web.md.

Bounded by construction: request bodies are size-limited, each request has the CLI's ``--timeout``
and ``--max-memory`` (:mod:`cnncalc.budget`), derivations run on a small pool of threads, and all the
work that needs torch goes through one bounded queue (:mod:`cnncalc.web.jobs`). The page sends
architecture text and numbers only: no Python target, so no user code ever runs.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import budget
from ..errors import CnnCalcError, CnnCalcErrors
from ..parse.limits import MAX_FILE_BYTES
from ..parse.spec import FileText
from ..textsafe import one_line, visible
from .jobs import Busy, Job, Jobs, Progress

EXIT_OK, EXIT_CHECK, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
MAX_JSON_BYTES = 64 * 2**10
"""A calculator's request is a few numbers."""

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,79}(?:/[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,79}){0,3}")
_FIGURES = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf", "tikz": "application/x-tex"}
_EXPORTS = {"json": "application/json", "markdown": "text/markdown", "csv": "text/csv",
            "latex": "application/x-tex", **_FIGURES}  # fmt: skip
_EXTENSIONS = {"json": ".json", "markdown": ".md", "csv": ".csv", "latex": ".tex", "svg": ".svg", "png": ".png",
               "pdf": ".pdf", "tikz": ".tex"}  # fmt: skip


@dataclass
class Config:
    """How the server runs: the CLI's limits per request, and how much work it takes at once."""

    timeout: float | None = field(default_factory=budget.timeout)  # the CLI's default: $CNNCALC_TIMEOUT, else 30 s
    max_memory: int = budget.DEFAULT_MAX_MEMORY
    workers: int = 1  # threads running torch
    queue: int = 8  # torch jobs that may wait
    derive_threads: int = 2  # derivations (no torch) at once
    device: str = "auto"
    cache: int = 8  # verified reports kept for the exports
    jobs: Jobs | None = field(default=None, repr=False)


class Problem(Exception):
    """An answer that is not a result: a JSON body and its HTTP status."""

    def __init__(self, body: dict[str, Any], status: int) -> None:
        super().__init__(body.get("error", ""))
        self.body = body
        self.status = status


def error_body(e: CnnCalcError) -> dict[str, Any]:
    """The CLI's stderr for ``e`` (one line per error), and each error with its line and column for the editor."""
    errors = e.errors if isinstance(e, CnnCalcErrors) else (e,)
    items = [{"file": x.loc.file if x.loc else None, "line": x.loc.line if x.loc else 0,
              "column": x.loc.col if x.loc else 0, "message": visible(x.message),
              "hint": visible(x.hint) if x.hint else None, "text": one_line(x.format())}
             for x in errors[: CnnCalcErrors.LIMIT]]  # fmt: skip
    stderr = [one_line(line) for line in e.format().split("\n")]
    return {"exit": getattr(e, "exit_code", EXIT_INPUT), "errors": items, "stderr": stderr}


def _failure(e: BaseException) -> Problem:
    """Any exception of the work in the CLI's words (``cli.failure_line``): bad input 422, a bug 500, no traceback."""
    if isinstance(e, Problem):
        return e
    if isinstance(e, CnnCalcError):
        return Problem(error_body(e), 422)
    from ..cli import failure_line

    text, code = failure_line(e) if isinstance(e, Exception) else (f"internal error: {type(e).__name__}", EXIT_INTERNAL)
    lines = [one_line(line) for line in text.split("\n")]
    errors = [{"line": 0, "column": 0, "text": line} for line in lines] if code != EXIT_INTERNAL else []
    return Problem({"exit": code, "errors": errors, "stderr": lines}, 500 if code == EXIT_INTERNAL else 422)


class Server:
    """The state behind the endpoints: the configuration, the torch queue, a small cache of verified reports."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.jobs = config.jobs or Jobs(config.workers, config.queue)
        self.derive_limiter = anyio.CapacityLimiter(max(1, config.derive_threads))
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._cache_lock = threading.Lock()

    # -- running work ------------------------------------------------------------------------------------------

    def limited(self, work: Callable[..., Any], *args: Any) -> Any:
        """Run ``work`` with this server's time and memory limits (the CLI's --timeout and --max-memory)."""
        with budget.limits(self.config.timeout, self.config.max_memory):
            return work(*args)

    async def derive(self, work: Callable[[], Any]) -> Any:
        """Work without torch, on the derivation threads; its errors as :class:`Problem`."""
        try:
            return await anyio.to_thread.run_sync(self.limited, work, limiter=self.derive_limiter)
        except BaseException as e:
            if isinstance(e, (anyio.get_cancelled_exc_class(), KeyboardInterrupt, SystemExit)):
                raise
            raise _failure(e) from None

    def submit(self, work: Callable[[Progress], Any], client: str = "") -> Job:
        """Queue work that needs torch; a full queue is a 503."""
        try:
            return self.jobs.submit(lambda progress: self.limited(work, progress), client)
        except Busy as e:
            raise Problem(
                {"exit": EXIT_INPUT, "error": f"busy: {e}; try again in a moment", "stderr": []}, 503
            ) from None

    async def torch(self, work: Callable[[Progress], Any], client: str = "") -> Any:
        """Queue work that needs torch and wait for it (the request's own timeout bounds the wait)."""
        job = self.submit(work, client)
        limit = (self.config.timeout or 0) * 4 + 60 if self.config.timeout else None
        done = await anyio.to_thread.run_sync(job.finished.wait, limit, abandon_on_cancel=True)
        if not done:
            job.cancel()
            raise Problem({"exit": EXIT_INPUT, "error": "the work did not finish in time", "stderr": []}, 503)
        return job_result(job)

    def report(self, src: FileText, values: dict[str, int], convention: str | None, verify: bool,
               progress: Progress | None = None, device: str | None = None) -> Any:  # fmt: skip
        """``pipeline.shapes`` as ``cnncalc shapes`` calls it; a verified report is kept for the exports."""
        from ..pipeline import shapes

        device = device or self.config.device
        key = (src.file, src.raw, tuple(sorted(values.items())), convention, device)
        if verify:
            with self._cache_lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
        report = shapes(src, values, verify=verify, device=device, batch=2, progress=progress, convention=convention)
        if verify:
            with self._cache_lock:
                self._cache[key] = report
                while len(self._cache) > self.config.cache:
                    self._cache.popitem(last=False)
        return report


def job_result(job: Job) -> Any:
    """A finished job's result, or its failure as :class:`Problem`."""
    if job.state == "cancelled":
        raise Problem({"exit": EXIT_INPUT, "error": "cancelled: a newer request replaced this one", "stderr": []}, 409)
    if job.error is not None:
        raise _failure(job.error)
    return job.result


# -- reading requests ----------------------------------------------------------------------------------------------


async def _body(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (read no further: a larger one is a 413)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise _too_large(limit)
    return bytes(data)


def _too_large(limit: int) -> Problem:
    from ..inputfile import too_large

    line = f"error: {too_large(limit + 1, limit)}; hint: architecture files are small"
    return Problem({"exit": EXIT_INPUT, "errors": [{"line": 1, "column": 1, "text": line}], "stderr": [line]}, 413)


def _bad(message: str, status: int = 400) -> Problem:
    line = one_line(f"error: {message}")
    return Problem({"exit": EXIT_INPUT, "errors": [{"line": 0, "column": 0, "text": line}], "stderr": [line]}, status)


def _name(request: Request) -> str:
    """The file name errors are located in (the example's path, or arch.yaml): a relative name, no '..'."""
    name = request.query_params.get("name") or "arch.yaml"
    if not _NAME.fullmatch(name) or ".." in name.split("/"):
        raise _bad(f"name {name!r}: expected a relative file name like arch.yaml or homework/q1.yaml")
    return name


def _values(request: Request, command: str = "shapes") -> dict[str, int]:
    """``set=H=64`` (repeated): the symbol values, read as ``cnncalc COMMAND --set`` reads them."""
    import click

    from .. import cli
    from ..cli import _parse_set

    items = tuple(request.query_params.getlist("set"))
    if len(items) > 64:
        raise _bad("too many set= values")
    try:
        return _parse_set(items)
    except click.ClickException as e:  # worded as `cnncalc COMMAND --set` words it
        e.ctx = click.Context(cli.main.commands[command], info_name=command,  # type: ignore[attr-defined]
                              parent=click.Context(cli.main, info_name="cnncalc"))  # fmt: skip
        raise _failure(e) from None


def _choice(request: Request, key: str, choices: tuple[str, ...], default: str | None) -> str | None:
    value = request.query_params.get(key, default)
    if value is not None and value not in choices:
        raise _bad(f"{key}={value!r}: expected one of {', '.join(choices)}")
    return value


def _flag(request: Request, key: str, default: bool) -> bool:
    value = request.query_params.get(key)
    if value is None:
        return default
    if value not in ("0", "1", "true", "false"):
        raise _bad(f"{key}={value!r}: expected 1 or 0")
    return value in ("1", "true")


def _client(request: Request, purpose: str = "") -> str:
    """The tab's id and what the work is for: a newer request for the same purpose supersedes the older one."""
    value = request.query_params.get("client", "")
    value = value[:64] if value.isascii() else ""
    return f"{value}:{purpose}" if value and purpose else value


async def _source(request: Request) -> FileText:
    return FileText(_name(request), await _body(request, MAX_FILE_BYTES))


async def _json(request: Request) -> dict[str, Any]:
    raw = await _body(request, MAX_JSON_BYTES)
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise _bad("the request body is not JSON") from None
    if not isinstance(doc, dict):
        raise _bad("the request body must be a JSON object")
    return doc


def _problem_response(p: Problem) -> JSONResponse:
    return JSONResponse(p.body, p.status)


Handler = Callable[[Request], Awaitable[Response]]


def _answering(handler: Callable[[Server, Request], Awaitable[Response]], server: Server) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(server, request)
        except Problem as p:
            return _problem_response(p)

    return endpoint


def _text(text: str, media: str, code: int = EXIT_OK, stderr: tuple[str, ...] | list[str] = (),
          filename: str | None = None) -> Response:  # fmt: skip
    headers = {"X-Cnncalc-Exit": str(code), "X-Cnncalc-Stderr": json.dumps([one_line(x) for x in stderr][:40])}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(visible(text).encode("utf-8"), media_type=media, headers=headers)


def _failures(report: Any) -> tuple[int, list[str]]:
    """The exit code and stderr lines of a report's failed findings (cli._report_problems)."""
    lines = [f.line() for f in report.failures]
    return (EXIT_OK if report.ok else EXIT_CHECK), lines


# -- endpoints ---------------------------------------------------------------------------------------------------


async def shapes(server: Server, request: Request) -> Response:
    """``cnncalc shapes FILE --format json`` (verify=0: ``--no-verify``): the same document."""
    from ..render.formats import to_json

    src, values = await _source(request), _values(request)
    convention = _choice(request, "convention", ("torch", "keras"), None)
    if _flag(request, "verify", True):
        report = await server.torch(
            lambda p: server.report(src, values, convention, True, p), _client(request, "shapes")
        )
    else:
        report = await server.derive(lambda: server.report(src, values, convention, False))
    code, lines = _failures(report)
    return _text(to_json(report), "application/json", code, lines)


def table_view(report: Any) -> dict[str, Any]:
    """The CLI's table as cells (render/table.py's columns and the lines under it), for the page to lay out."""
    from ..render.notation import shape_text
    from ..render.table import columns, notes

    def plain(x: Any) -> str:
        return visible(x.plain if hasattr(x, "plain") else str(x))

    cols = columns(report)
    return {
        "title": visible(f"{report.main.graph.name} · input {shape_text(report.shown(report.main.graph.input_shape))}"),
        "columns": [
            {
                "header": plain(c.header),
                "justify": c.justify,
                "footer": plain(c.footer),
                "cells": [plain(x) for x in c.cells],
            }
            for c in cols
        ],
        "nodes": [r.name for r in _rows(report)],
        "notes": [plain(t) for t in notes(report)],
    }


def _rows(report: Any) -> Any:
    from ..report import rows

    return rows(report)


async def table(server: Server, request: Request) -> Response:
    """For the page: the derived table (``cnncalc shapes --no-verify``) as cells, with the JSON document."""
    from ..render.formats import to_json

    src, values = await _source(request), _values(request)
    convention = _choice(request, "convention", ("torch", "keras"), None)

    def work() -> dict[str, Any]:
        report = server.report(src, values, convention, False)
        code, lines = _failures(report)
        return {"exit": code, "stderr": [one_line(x) for x in lines], "table": table_view(report),
                "document": json.loads(visible(to_json(report)))}  # fmt: skip

    return JSONResponse(await server.derive(work))


async def verify(server: Server, request: Request) -> Response:
    """Queue the verification (``cnncalc shapes FILE --format json``); poll ``GET /api/jobs/ID`` for it."""
    src, values = await _source(request), _values(request)
    convention = _choice(request, "convention", ("torch", "keras"), None)
    job = server.submit(lambda p: server.report(src, values, convention, True, p), _client(request))
    return JSONResponse(job.status(), 202)


async def job(server: Server, request: Request) -> Response:
    """A queued job's state; once done, the shapes document (or the located errors) with it."""
    from ..render.formats import to_json

    found = server.jobs.get(request.path_params["id"])
    if found is None:
        return _problem_response(_bad("no such job (finished jobs are kept two minutes)", 404))
    if request.method == "DELETE":
        found.cancel()
        return JSONResponse(found.status())
    body: dict[str, Any] = found.status()
    if found.state in ("done", "failed", "cancelled"):
        try:
            report = job_result(found)
        except Problem as p:
            body.update(p.body)
            body["status"] = p.status
        else:
            code, lines = _failures(report)
            body.update({"exit": code, "stderr": [one_line(x) for x in lines], "table": table_view(report),
                         "document": json.loads(visible(to_json(report)))})  # fmt: skip
    return JSONResponse(body)


def _figure_of(report: Any, request: Request) -> Any:
    from ..render import draw as pictures

    direction = _choice(request, "direction", ("lr", "tb"), "lr")
    title = request.query_params.get("title")
    return pictures.network(report, _flag(request, "collapse", False), direction or "lr", title)


async def draw(server: Server, request: Request) -> Response:
    """``cnncalc draw FILE -o net.svg`` (format=svg|png|pdf|tikz; verify=0 for ``--no-verify``): the same bytes."""
    src, values = await _source(request), _values(request, "draw")
    convention = _choice(request, "convention", ("torch", "keras"), None)
    fmt = _choice(request, "format", tuple(_FIGURES), "svg") or "svg"
    checked = _flag(request, "verify", True)
    return await _picture(server, request, src, values, convention, fmt, checked, None)


async def _picture(server: Server, request: Request, src: FileText, values: dict[str, int], convention: str | None,
                   fmt: str, checked: bool, filename: str | None) -> Response:  # fmt: skip
    purpose = "export" if filename else "draw"
    from ..render import draw as pictures

    def picture(report: Any) -> tuple[bytes, int, list[str]]:
        pictures.require(fmt)
        data = _figure_of(report, request).render(fmt)
        code, lines = _failures(report)
        return (data.encode("utf-8") if isinstance(data, str) else data), code, lines

    if checked:
        report = await server.torch(
            lambda p: server.report(src, values, convention, True, p), _client(request, purpose)
        )
    else:
        report = await server.derive(lambda: server.report(src, values, convention, False))
    data, code, lines = await server.derive(lambda: picture(report))
    headers = {"X-Cnncalc-Exit": str(code), "X-Cnncalc-Stderr": json.dumps([one_line(x) for x in lines][:40])}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(data, media_type=_FIGURES[fmt], headers=headers)


async def receptive_field(server: Server, request: Request) -> Response:
    """``cnncalc rf FILE --draw rf.svg --unit ID`` (verify=0 for ``--no-verify``): the unit's receptive field."""
    from ..analysis.unitfield import find_unit, unit_field
    from ..render import draw as pictures

    src, values = await _source(request), _values(request, "rf")
    convention = _choice(request, "convention", ("torch", "keras"), None)
    fmt = _choice(request, "format", tuple(_FIGURES), "svg") or "svg"
    unit = request.query_params.get("unit") or None
    checked = _flag(request, "verify", True)

    def work(progress: Progress | None) -> tuple[bytes, int, list[str]]:
        pictures.require(fmt)
        report = server.report(src, values, convention, checked, progress, device="cpu")
        field = unit_field(report.defaults, *find_unit(report.defaults, unit))
        if checked:
            from ..verify.unitfield import confirm

            field = confirm(field)
        data = pictures.receptive_field(field).render(fmt)
        code, lines = _failures(report)
        for i in field.disagreements:
            assert field.confirmed is not None
            lines.append(f"error: receptive field of unit {field.unit} of {field.name(field.layer)!r} at "
                         f"{field.name(i)!r}: derived {len(field.sets[i])} units, the input gradient gives "
                         f"{len(field.confirmed[i])}")  # fmt: skip
            code = EXIT_CHECK
        return (data.encode("utf-8") if isinstance(data, str) else data), code, lines

    if checked:
        data, code, lines = await server.torch(work, _client(request, "rf"))
    else:
        data, code, lines = await server.derive(lambda: work(None))
    headers = {"X-Cnncalc-Exit": str(code), "X-Cnncalc-Stderr": json.dumps([one_line(x) for x in lines][:40])}
    return Response(data, media_type=_FIGURES[fmt], headers=headers)


async def export(server: Server, request: Request) -> Response:
    """The CLI's files: json/markdown/csv as ``cnncalc shapes --format``, latex as ``cnncalc explain --format latex``,
    svg/png/pdf/tikz as ``cnncalc draw -o``; verified as the CLI verifies by default (verify=0: ``--no-verify``)."""
    src, values = await _source(request), _values(request)
    convention = _choice(request, "convention", ("torch", "keras"), None)
    fmt = _choice(request, "format", tuple(_EXPORTS), "json") or "json"
    checked = _flag(request, "verify", True)
    stem = src.file.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "arch"
    filename = stem + _EXTENSIONS[fmt]
    if fmt in _FIGURES:
        return await _picture(server, request, src, values, convention, fmt, checked, filename)
    if fmt == "latex":
        from ..pipeline import explain as derive_steps
        from ..render.derivation import render

        def steps(progress: Progress | None) -> tuple[str, int, list[str]]:
            expl = derive_steps(src, values, None, verify=checked, convention=convention)
            code, lines = _failures(expl.report)
            return render(expl, "latex"), code, lines

        text, code, lines = await (server.torch(steps, _client(request, "export")) if checked
                                   else server.derive(lambda: steps(None)))  # fmt: skip
        return _text(text, _EXPORTS[fmt], code, lines, filename)
    from ..render import formats

    writer = {"json": formats.to_json, "markdown": formats.to_markdown, "csv": formats.to_csv}[fmt]
    if checked:
        report = await server.torch(
            lambda p: server.report(src, values, convention, True, p), _client(request, "export")
        )
    else:
        report = await server.derive(lambda: server.report(src, values, convention, False))
    code, lines = _failures(report)
    return _text(writer(report), _EXPORTS[fmt], code, lines, filename)


async def explain(server: Server, request: Request) -> Response:
    """``cnncalc explain FILE [--layer ID] [--format text|markdown|latex]``: {exit, out, stderr}."""
    from ..pipeline import explain as derive_steps
    from ..render.derivation import render

    src, values = await _source(request), _values(request, "explain")
    convention = _choice(request, "convention", ("torch", "keras"), None)
    fmt = _choice(request, "format", ("text", "markdown", "latex"), "text") or "text"
    layer = request.query_params.get("layer") or None
    checked = _flag(request, "verify", True)

    def work(progress: Progress | None) -> dict[str, Any]:
        expl = derive_steps(src, values, layer, verify=checked, convention=convention)
        code, lines = _failures(expl.report)
        return {"exit": code, "out": visible(render(expl, fmt)), "stderr": [one_line(x) for x in lines]}

    if checked:
        return JSONResponse(await server.torch(work, _client(request, "explain")))
    return JSONResponse(await server.derive(lambda: work(None)))


async def solve(server: Server, request: Request) -> Response:
    """``cnncalc solve FILE [--max N] [--limit N] [--format text|json]``: {exit, out, stderr}."""
    from ..pipeline import solve_file
    from ..render import solution

    src, values = await _source(request), _values(request, "solve")
    fmt = _choice(request, "format", ("text", "json"), "text")
    checked = _flag(request, "verify", True)
    high = _int(request, "max", 1, 1_000_000)
    limit = _int(request, "limit", 1, 10_000) or 100

    def work(progress: Progress | None) -> dict[str, Any]:
        report = solve_file(src, values, high, limit, verify=checked)
        text = solution.to_json(report) if fmt == "json" else solution.to_text(report, src.file)
        return {"exit": EXIT_OK if report.ok else EXIT_CHECK, "out": visible(text), "stderr": []}

    if checked:
        return JSONResponse(await server.torch(work, _client(request, "solve")))
    return JSONResponse(await server.derive(lambda: work(None)))


def _int(request: Request, key: str, low: int, high: int) -> int | None:
    value = request.query_params.get(key)
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
        raise _bad(f"{key}={value!r}: expected an integer from {low} to {high}")
    return int(value)


_CALCULATORS = ("conv", "pool", "convt", "params", "convolve")
_REFUSED = ("--timeout", "--max-memory", "--draw", "--frames", "--traceback", "--help", "-h")
"""Options the page may not give: the server's limits hold, and nothing is written to its disk."""


def _parsed(args: Any) -> tuple[str, dict[str, Any]]:
    """A calculator's command line, parsed by the CLI's own click command: its values, or the CLI's usage error."""
    import click

    from .. import cli

    if not isinstance(args, list) or not args or not all(isinstance(a, str) and len(a) <= 4096 for a in args):
        raise _bad('expected {"args": ["conv", "227x227", "-k", "11", ...]}: a calculator\'s command line')
    if len(args) > 64:
        raise _bad("too many arguments")
    name = args[0]
    if name not in _CALCULATORS:
        raise _bad(f"{name!r} is not a calculator; the page answers {', '.join(_CALCULATORS)}")
    for a in args[1:]:
        if a.split("=", 1)[0] in _REFUSED:
            raise _bad(f"{a.split('=', 1)[0]} is not for the page (the server's limits hold; figures come back "
                       "in the answer)")  # fmt: skip
    command = cli.main.commands[name]
    parent = click.Context(cli.main, info_name="cnncalc")
    try:
        with command.make_context(name, list(args[1:]), parent=parent) as ctx:
            return name, dict(ctx.params)
    except click.exceptions.Exit:
        raise _bad(f"cnncalc {name} --help: see the command line") from None
    except click.ClickException as e:
        line = one_line(cli._usage_line(e))
        raise Problem({"exit": EXIT_INPUT, "errors": [{"line": 0, "column": 0, "text": line}], "stderr": [line]},
                      422) from None  # fmt: skip


def _answer(name: str, p: dict[str, Any]) -> dict[str, Any]:
    """Run a parsed calculator as the CLI's command does (render/answers.py), the page's way: {exit, out, stderr}."""
    from ..render.answers import Calculator, params_answer, window_answer

    if name == "params":
        a = params_answer(p["kind"], p["kernel"], p["c_in"], p["c_out"], p["groups"], p["bias"], p["dims"], p["fmt"],
                          p["verify"], p["convention"])  # fmt: skip
    else:
        q: dict[str, str | None] = {
            n: p[n] for n in ("kernel_size", "stride", "padding", "dilation", "output_padding") if n in p
        }
        extra = None
        kind = {"conv": "Conv", "convt": "ConvTranspose"}.get(name, "AvgPool" if p.get("avg") else "MaxPool")
        if name == "pool":
            if p["avg"]:
                if q.pop("dilation") is not None:
                    from ..errors import Loc

                    raise CnnCalcError("average pooling has no dilation", Loc("cnncalc pool", 0, 0),
                                       "drop -d or use max pooling")  # fmt: skip
            extra = {"ceil_mode": True} if p["ceil"] else None
        calc = Calculator(kind, name, p["size"], q, p["out"], extra, p.get("c_in"), p.get("c_out"), p["high"])
        a = window_answer(calc, p["fmt"], p["verify"])
    return {"exit": a.code, "out": visible(a.out), "stderr": [one_line(x) for x in a.err]}


def _convolution(p: dict[str, Any]) -> dict[str, Any]:
    """``cnncalc convolve`` as the CLI runs it, with the figure of output ``--at`` in the answer (SVG text)."""
    import click

    from ..convolve import convolve as compute
    from ..convolve import parse_matrix, torch_check
    from ..render import convolution
    from ..render import draw as pictures

    padding, checked = p["padding"], p["verify"]
    img, ker = parse_matrix(p["image"], "--image"), parse_matrix(p["kernel"], "--kernel")
    if padding != "same" and not (padding.isascii() and padding.isdigit() and int(padding) <= 64):
        raise CnnCalcError(f"--padding {padding!r}: expected a number from 0 to 64, or same", None)
    result = compute(img, ker, padding if padding == "same" else int(padding), p["stride"], p["flip"])
    problem = torch_check(img, ker, result) if checked else None
    check = ("Not verified (--no-verify)." if not checked else
             "Verified: torch.nn.functional.conv2d gives the same matrix." if problem is None else
             f"MISMATCH: {problem}")  # fmt: skip
    writer = {"text": convolution.to_text, "markdown": convolution.to_markdown, "latex": convolution.to_latex}
    out = writer[p["fmt"]](img, ker, result, p["steps"], check)
    row, _, col = p["at"].partition(",")
    if not (row.strip().isascii() and row.strip().isdigit() and col.strip().isascii() and col.strip().isdigit()):
        raise click.BadParameter(f"{p['at']!r}: expected ROW,COLUMN from 0, e.g. 1,2", param_hint="--at")
    try:
        pictures.require("svg")
    except CnnCalcError:
        svg = None
    else:
        svg = visible(str(pictures.convolution(result, img, (int(row), int(col))).render("svg")))
    rows = len(result.output)
    return {"exit": EXIT_OK if problem is None else EXIT_CHECK, "out": visible(out), "stderr": [], "svg": svg,
            "rows": rows, "columns": len(result.output[0]) if rows else 0}  # fmt: skip


async def calculate(server: Server, request: Request) -> Response:
    """``cnncalc conv|pool|convt|params|convolve ...`` as {"args": [...]}: {exit, out, stderr} (+ svg), the CLI's text.

    The command line is parsed by the CLI's own click command (the same values, the same usage errors); the answer
    is render/answers.py's, which the CLI echoes."""
    doc = await _json(request)
    name, params = _parsed(doc.get("args"))

    def work(progress: Progress | None) -> dict[str, Any]:
        return _convolution(params) if name == "convolve" else _answer(name, params)

    if params.get("verify", True):
        return JSONResponse(await server.torch(work, _client(request, "calc")))
    return JSONResponse(await server.derive(lambda: work(None)))


# -- the page and its examples -----------------------------------------------------------------------------------


def examples() -> list[dict[str, str]]:
    """The bundled examples (a copy shipped in the package): path, group and the first comment line."""
    root = resources.files("cnncalc.web") / "examples"
    out: list[dict[str, str]] = []

    def visit(folder: Any, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir():
                visit(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith((".yaml", ".yml")):
                text = entry.read_text(encoding="utf-8")
                first = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("#")), "")
                out.append({"path": prefix + entry.name, "group": prefix.rstrip("/") or "examples", "title": first})

    visit(root, "")
    return out


async def list_examples(request: Request) -> Response:
    """The example menu."""
    return JSONResponse(examples())


async def example(request: Request) -> Response:
    """One example's text (only the bundled ones: the path must be in the list)."""
    path = request.path_params["path"]
    if path not in {e["path"] for e in examples()}:
        return _problem_response(_bad(f"no bundled example {path!r}", 404))
    item = resources.files("cnncalc.web") / "examples"
    for part in path.split("/"):
        item = item / part
    return Response(item.read_text(encoding="utf-8"), media_type="text/plain; charset=utf-8")


async def index(request: Request) -> Response:
    """The page."""
    html = (resources.files("cnncalc.web") / "static" / "index.html").read_text(encoding="utf-8")
    return Response(html, media_type="text/html; charset=utf-8", headers=_SECURITY)


_SECURITY = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self' "
                                        "'unsafe-inline'; object-src 'none'; frame-ancestors 'none'",
             "X-Content-Type-Options": "nosniff"}  # fmt: skip


def create_app(config: Config | None = None) -> Starlette:
    """The Starlette application of ``cnncalc serve``."""
    server = Server(config or Config())

    def route(path: str, handler: Callable[[Server, Request], Awaitable[Response]],
              methods: tuple[str, ...] = ("POST",)) -> Route:  # fmt: skip
        return Route(path, _answering(handler, server), methods=list(methods))

    static = StaticFiles(directory=str(resources.files("cnncalc.web") / "static"))
    routes = [
        Route("/", index),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/examples", list_examples),
        Route("/api/examples/{path:path}", example),
        route("/api/shapes", shapes),
        route("/api/table", table),
        route("/api/verify", verify),
        route("/api/jobs/{id}", job, ("GET", "DELETE")),
        route("/api/draw", draw),
        route("/api/rf", receptive_field),
        route("/api/export", export),
        route("/api/explain", explain),
        route("/api/solve", solve),
        route("/api/calc", calculate),
        Mount("/static", static),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        server.jobs.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.server = server
    return app
