"""Importing a Python target and instantiating the model, with one-line errors.

A target is ``path/to/model.py:Name`` or ``package.module:Name`` (``Name`` may be
dotted). ``Name`` is an ``nn.Module`` subclass, a factory function returning a
module, or a module instance; ``:Name`` may be left out when the file defines
exactly one ``nn.Module`` subclass. Importing executes the file, as pytest and
``python -m`` do; YAML files never execute code.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CnnCalcError, Loc, did_you_mean, first_line
from .frames import display_path, frame_loc, is_library, user_frame
from .guard import running, stops


def is_python_target(text: str) -> bool:
    """Whether ``text`` names a Python target rather than an architecture file.

    The rule: an existing file wins over the target reading, so ``dir:with:colons/net.yaml`` and
    ``net:v2.yaml`` are architecture files; an existing ``.py`` or ``.ipynb`` file (no ``:Name``) is a
    target. Otherwise ``FILE.py:Name``, ``FILE.ipynb:Name`` and ``package.module:Name`` are targets,
    and so is a dotted name that is no file (``package.module``); a name ending in ``.yaml`` or
    ``.yml`` never is.
    """
    if text.endswith((".yaml", ".yml")):
        return False
    if _exists(text):
        return text.endswith((".py", ".ipynb"))
    path = text.rsplit(":", 1)[0] if has_attr(text) else text
    if path.endswith((".yaml", ".yml")):
        return False
    return path.endswith((".py", ".ipynb")) or has_attr(text) or ("." in path and "/" not in path)


def _exists(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # a name too long for the file system, a NUL in it
        return False


def has_attr(text: str) -> bool:
    """Whether ``text`` ends in ``:Name`` (and is not a Windows drive letter, nor an existing file's own name)."""
    head, sep, tail = text.rpartition(":")
    if not (sep and head and tail) or (len(head) == 1 and tail.startswith("\\")):
        return False
    return not _exists(text)


@dataclass(frozen=True)
class Target:
    """An instantiated model and where it came from."""

    text: str  # as given on the command line
    file: str | None  # the source file, for locations (None when unknown)
    attr: str  # the class or factory name
    model: Any  # the nn.Module instance
    notes: tuple[str, ...] = ()  # a notebook: what was skipped (``course.ipynb:cell 3:1: note: skipped ...``)

    @property
    def label(self) -> str:
        """``model.py:Net`` for messages."""
        return self.text


MAX_KWARGS_BYTES = 1 << 20
"""Largest --kwargs JSON (text or file)."""


def parse_kwargs(text: str | None, file: str | None) -> dict[str, Any]:
    """Constructor keyword arguments from ``--kwargs`` JSON or a ``--kwargs-file`` (a regular file of at most 1 MiB)."""
    if file is not None:
        from ..inputfile import read_bounded

        raw = read_bounded(file, f"--kwargs-file {file}", MAX_KWARGS_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CnnCalcError(f"--kwargs-file {file} is not UTF-8 text (byte {e.start})", None) from None
    if not text:
        return {}
    where = f"--kwargs-file {file}" if file else "--kwargs"
    if len(text) > MAX_KWARGS_BYTES:
        raise CnnCalcError(f"{where} is {len(text):,} characters long, over the limit of {MAX_KWARGS_BYTES:,}", None,
                           "constructor arguments are small; use --kwargs-file for a file")  # fmt: skip
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        loc = Loc(file, e.lineno, e.colno) if file else None
        raise CnnCalcError(f"{where} is not valid JSON: {e.msg} (line {e.lineno} column {e.colno})", loc,
                           'write an object, e.g. {"num_classes": 10}') from None  # fmt: skip
    except RecursionError:
        raise CnnCalcError(
            f"{where} nests too deeply", None, "constructor arguments nest a few levels at most"
        ) from None
    if not isinstance(value, dict):
        raise CnnCalcError(f"{where} must be a JSON object, found {type(value).__name__}", None,
                           'write an object, e.g. {"num_classes": 10}')  # fmt: skip
    return value


def load_target(text: str, kwargs: Mapping[str, Any] | None = None) -> Target:
    """Import the target, find the name, instantiate it; every failure is a one-line CnnCalcError."""
    kwargs = dict(kwargs or {})
    source, _, attr = text.rpartition(":") if has_attr(text) else (text, "", "")
    file: str | None
    from ..verify.torchload import import_torch

    nn = import_torch().nn  # first, quietly: the target's own `import torch` then finds it loaded
    from ..keras.target import select_backend

    select_backend()  # a target's `import keras` runs Keras 3 on torch, without TensorFlow
    notes: tuple[str, ...] = ()
    if source.endswith(".ipynb"):
        from .notebook import import_notebook

        module, plan = import_notebook(source, display_path(source))
        file, notes = source, tuple(s.note(display_path(source)) for s in plan.skipped)
    elif source.endswith(".py") or "/" in source or Path(source).exists():
        module, file = _import_file(source)
    else:
        module, file = _import_module(source)
    if not attr:
        attr = _only_module_class(module, nn, text)
    obj: Any = module
    for i, part in enumerate(attr.split(".")):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            where = ".".join(attr.split(".")[:i]) or (file or source)
            raise CnnCalcError(f"{where} has no attribute {part!r}", None,
                               did_you_mean(part, names) or _candidates_hint(module, nn))  # fmt: skip
        obj = getattr(obj, part)
    return Target(text, file, attr, _instantiate(obj, attr, kwargs, nn, file), notes)


def _import_file(source: str) -> tuple[Any, str]:
    from ..inputfile import regular_file

    path = Path(source)
    if path.is_dir():
        raise CnnCalcError(f"{source} is a directory", None, "name a Python file, e.g. models/net.py:Net")
    regular_file(path, source, "check the path (targets are FILE.py:Name)")  # never a FIFO or a device
    path = path.resolve()
    name = "cnncalc_target_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CnnCalcError(f"{source} cannot be imported as Python", None, "targets are .py files")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))  # sibling imports work, as when running the file
    try:
        with running(f"importing {source}"):
            spec.loader.exec_module(module)
    except BaseException as e:
        sys.modules.pop(name, None)
        if stops(e):
            raise
        raise _import_error(e, source, str(path)) from None
    finally:
        if sys.path and sys.path[0] == str(path.parent):
            sys.path.pop(0)
    return module, source


def _import_module(source: str) -> tuple[Any, str | None]:
    if not source or not all(p.isidentifier() for p in source.split(".")):
        raise CnnCalcError(f"{source!r} is neither a file nor a module name", None,
                           "write path/to/model.py:Net or package.module:Net")  # fmt: skip
    sys.path.insert(0, str(Path.cwd()))  # as python -m does
    try:
        with running(f"importing {source}"):
            module = importlib.import_module(source)
    except ModuleNotFoundError as e:
        if e.name and source.startswith(e.name):
            raise CnnCalcError(f"no module named {e.name!r}", None,
                               "run from the project root or install the package; a file is path/to/model.py:Net"
                               ) from None  # fmt: skip
        raise _import_error(e, source, None) from None
    except BaseException as e:
        if stops(e):
            raise
        raise _import_error(e, source, None) from None
    finally:
        sys.path.pop(0)
    return module, getattr(module, "__file__", None)


def _import_error(e: BaseException, source: str, path: str | None) -> CnnCalcError:
    if isinstance(e, CnnCalcError):  # the time limit, sys.exit: a target that cannot be loaded is bad input (exit 2)
        return CnnCalcError(e.message, e.loc, e.hint)
    if isinstance(e, SyntaxError):
        shown = source if path is not None and e.filename == path else e.filename or source
        loc: Loc | None = Loc(shown, e.lineno or 1, e.offset or 1)
        return CnnCalcError(f"syntax error: {e.msg}", loc, "the target must be valid Python")
    if isinstance(e, SystemExit):
        return CnnCalcError(f"importing {source} called sys.exit({e.code})", None,
                            "guard script code with if __name__ == '__main__':")  # fmt: skip
    loc = user_frame(e.__traceback__, path)
    from ..keras.target import import_hint

    keras = import_hint(e)
    if keras is not None:  # `from tensorflow import keras` in a Keras 3 course model
        return CnnCalcError(f"importing {source} failed: {keras[0]}", loc, keras[1])
    what = f"{type(e).__name__}: {first_line(e)}"
    return CnnCalcError(f"importing {source} failed: {what}", loc,
                        "the file must import cleanly; run it with python to see the traceback")  # fmt: skip


def _module_classes(module: Any, nn: Any) -> list[str]:
    return [
        n for n, v in vars(module).items()
        if inspect.isclass(v) and issubclass(v, nn.Module) and v.__module__ == module.__name__
    ]  # fmt: skip


def _only_module_class(module: Any, nn: Any, text: str) -> str:
    found = _module_classes(module, nn)
    if len(found) == 1:
        return found[0]
    if not found:
        raise CnnCalcError(f"{text} defines no nn.Module subclass", None, "name the factory: FILE.py:make_model")
    raise CnnCalcError(f"{text} defines {len(found)} nn.Module classes ({', '.join(found)})", None,
                       f"name one: {text}:{found[-1]}")  # fmt: skip


def _candidates_hint(module: Any, nn: Any) -> str:
    found = _module_classes(module, nn)
    return "modules defined there: " + ", ".join(found) if found else "name an nn.Module class or a factory"


def _instantiate(obj: Any, attr: str, kwargs: dict[str, Any], nn: Any, file: str | None) -> Any:
    if isinstance(obj, nn.Module):
        if kwargs:
            raise CnnCalcError(f"{attr} is already a model instance; --kwargs cannot apply", None,
                               "drop --kwargs, or name the class or a factory")  # fmt: skip
        return obj
    if not callable(obj):
        raise CnnCalcError(f"{attr} is a {type(obj).__name__}, not an nn.Module class or factory", None)
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        sig = None
    if sig is not None:
        try:
            sig.bind(**kwargs)
        except TypeError as e:
            missing = [p.name for p in sig.parameters.values()
                       if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                       and p.name not in kwargs]  # fmt: skip
            example = json.dumps({m: "..." for m in missing}) if missing else '{"name": value}'
            raise CnnCalcError(f"{attr}() cannot be called with these arguments: {e}", None,
                               f"pass them with --kwargs '{example}' or --kwargs-file") from None  # fmt: skip
    try:
        with running(f"{attr}({'**kwargs' if kwargs else ''})"):
            model = obj(**kwargs)
    except CnnCalcError as e:  # the time limit, sys.exit: a target that cannot be loaded is bad input (exit 2)
        raise CnnCalcError(e.message, e.loc, e.hint) from None
    except Exception as e:
        raise CnnCalcError(f"{attr}(**kwargs) raised {type(e).__name__}: {first_line(e)}",
                           user_frame(e.__traceback__), "check the constructor arguments (--kwargs)") from None  # fmt: skip
    if not isinstance(model, nn.Module):
        raise CnnCalcError(f"{attr}() returned a {type(model).__name__}, not an nn.Module", None,
                           "name a class or a factory that returns a model")  # fmt: skip
    return model


# moved to frames.py (guard.py needs them without importing this module); still importable from here
__all__ = ["Target", "display_path", "frame_loc", "has_attr", "is_library", "is_python_target", "load_target",
           "parse_kwargs", "user_frame"]  # fmt: skip
