"""A live Keras model (``course.py:model``, a notebook's Keras cells, ``cnncalc.summary(model)``) as a spec.

Keras 3 runs on torch: cnncalc selects that backend before a Python target is imported (so
``import keras`` in the student's file needs no TensorFlow). The model's ``get_config()`` goes
through the one config reader (keras/config.py), so a live model and its saved ``.keras`` file
give the same spec; an unbuilt model is built first by one forward pass at the given input
(never counted as 0). Then the real Keras forward, with hooks on ``model.layers[i]``, checks the
derived shapes (channels last) and Keras' own ``count_params()`` each layer's count: a disagreement
is a mismatch, as torch's are.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import CnnCalcError, Loc

if TYPE_CHECKING:
    from ..parse.spec import ArchSpec
    from ..report import Mismatch, ShapesReport

INSTALL = "pip install 'cnncalc[keras]'"


def select_backend() -> None:
    """Keras on torch, set before anything imports Keras (a target's ``import keras``)."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"


def import_hint(e: BaseException) -> tuple[str, str] | None:
    """A missing TensorFlow or Keras, said for what it is: (message, hint)."""
    if not isinstance(e, ModuleNotFoundError):
        return None
    name = (e.name or "").split(".")[0]
    if name in ("tensorflow", "tf_keras"):
        return ("the model imports TensorFlow, which is not installed (cnncalc runs Keras 3 on torch)",
                "write 'import keras' and 'from keras import layers' instead of 'from tensorflow import keras', "
                f"and install Keras: {INSTALL}")  # fmt: skip
    if name == "keras":
        return "the model imports Keras, which is not installed", INSTALL
    return None


def is_keras_model(obj: Any) -> bool:
    """Whether ``obj`` is a Keras model (checked on its classes' modules: Keras is not imported for it)."""
    return any(c.__module__.split(".")[0] == "keras" and c.__name__ in ("Model", "Sequential", "Functional")
               for c in type(obj).__mro__)  # fmt: skip


def _keras() -> Any:
    select_backend()
    try:
        import keras
    except ModuleNotFoundError:
        raise CnnCalcError("a Keras model needs Keras, which is not installed", None, INSTALL) from None
    if keras.backend.backend() != "torch":
        raise CnnCalcError(f"Keras was imported with the {keras.backend.backend()!r} backend", None,
                           "cnncalc runs Keras on torch: let cnncalc import it first, or set KERAS_BACKEND=torch")  # fmt: skip
    return keras


def _concrete(inputs: Sequence[Any], values: Mapping[str, int], fallback: int = 32) -> tuple[int, ...]:
    dims = inputs[0].dims
    return tuple(values.get(d, fallback) if isinstance(d, str) else d for d in dims)


def build(model: Any, inputs: Sequence[Any], values: Mapping[str, int], label: str) -> None:
    """An unbuilt model built by one forward pass at the given input (channels last, batch 1)."""
    if getattr(model, "built", True) and _built_shapes(model):
        return
    if not inputs:
        raise CnnCalcError(f"{label} is a Keras model that has not been built yet", None,
                           "give its input shape, channels last and without the batch: --input 28x28x1")  # fmt: skip
    import numpy as np

    shape = _concrete(inputs, values)
    try:
        model(np.zeros((1, *shape), dtype="float32"))
    except Exception as e:
        raise CnnCalcError(f"{label}: building the Keras model at input {shape} failed: {type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''}", None,
                           "check --input: per sample, channels last (28x28x1)") from None  # fmt: skip


def _built_shapes(model: Any) -> bool:
    try:
        return all(getattr(lay, "built", True) for lay in model.layers)
    except Exception:
        return False


def spec(model: Any, inputs: Sequence[Any], values: Mapping[str, int], label: str) -> ArchSpec:
    """A live Keras model as an architecture spec: its ``get_config()`` through keras/config.py."""
    from .config import read_config
    from .jsonnodes import located

    keras = _keras()
    build(model, inputs, values, label)
    cls = type(model).__name__
    graph = model
    subclassed = cls not in ("Sequential", "Functional") and not hasattr(model, "_nodes_by_depth")
    if subclassed:  # its call() traced on a symbolic input: the layer graph a functional model of it has
        graph = _traced(keras, model, inputs, label)
    config = {"class_name": "Sequential" if cls == "Sequential" else "Functional", "config": graph.get_config()}
    where = Loc(f"{label} (get_config)", 0, 0)
    found = read_config(located(_plain(config), where), where.file, inputs, getattr(model, "name", None)).spec
    if subclassed and found.origin is not None:  # Keras summarises a subclassed model as a list of its layers
        found = dataclasses.replace(found, origin=dataclasses.replace(found.origin, model_class="Subclassed"))
    if inputs and any(d is None for _, d, _ in found.symbols):  # the sizes the model was built at are the defaults
        at = dict(zip((d for d in inputs[0].dims), _concrete(inputs, values)))
        found = dataclasses.replace(found, symbols=tuple((n, at.get(n) if d is None else d, loc)
                                                         for n, d, loc in found.symbols))  # fmt: skip
    return found


def _traced(keras: Any, model: Any, inputs: Sequence[Any], label: str) -> Any:
    """A subclassed model's ``call`` on a ``keras.Input``: a functional model over the same layer objects."""
    shapes = []
    if inputs:
        shapes.append(tuple(None if isinstance(d, str) else d for d in inputs[0].dims))
    built = getattr(model, "_build_shapes_dict", None) or {}
    for v in built.values():
        if isinstance(v, (tuple, list)) and len(v) > 1:
            shapes.append(tuple(v[1:]))
    last: Exception | None = None
    for shape in shapes:
        try:
            inp = keras.Input(shape)
            return keras.Model(inp, model.call(inp), name=getattr(model, "name", None))
        except Exception as e:  # a call() that needs concrete sizes, or does more than layers: next shape
            last = e
    why = f" ({type(last).__name__}: {str(last).splitlines()[0][:160] if str(last) else ''})" if last else ""
    raise CnnCalcError(f"{label} is a subclassed Keras model whose call() cannot be traced on a keras.Input{why}",
                       None, f"it has {model.count_params():,} parameters (Keras' count, after one forward pass); for "
                       "shapes by layer, its call() may use Keras layers only, or write it with keras.Sequential")  # fmt: skip


def _plain(value: Any) -> Any:
    """A config with numpy scalars and tuples as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    if hasattr(value, "get_config"):  # an initializer or a dtype policy object: not read
        return None
    return value


def keras_mismatches(report: ShapesReport, model: Any) -> list[Mismatch]:
    """Keras' own forward pass on torch, hooked on ``model.layers[i]``: each layer's output shape (channels last)
    and ``count_params()`` against the derived ones, at the default sizes."""
    import numpy as np

    from ..layers import in_layout
    from ..report import Mismatch

    seen: dict[str, tuple[int, ...]] = {}
    handles = []
    for layer in model.layers:

        def hook(module: Any, args: Any, out: Any, name: str = layer.name) -> None:
            if hasattr(out, "shape"):
                seen[name] = tuple(int(d) for d in out.shape[1:])

        if hasattr(layer, "register_forward_hook"):
            handles.append(layer.register_forward_hook(hook))
    shape = tuple(in_layout(tuple(report.defaults.graph.input_shape), True))
    try:
        model(np.zeros((1, *shape), dtype="float32"))
    except Exception as e:  # the model's own forward refuses the size cnncalc derived for
        text = str(e).replace("\x1b[1m", "").replace("\x1b[0m", "").strip().splitlines()
        return [Mismatch(report.defaults.graph.name, report.spec.loc, f"forward pass at input {shape}", "it runs",
                         f"{type(e).__name__}: {text[0][:200] if text else ''}", {}, "Keras")]  # fmt: skip
    finally:
        for h in handles:
            h.remove()
    found = []
    by_name = {lay.name: lay for lay in model.layers}
    for r in report.defaults.layers:
        layer = by_name.get(r.node.name)
        if layer is None:
            continue
        derived = tuple(in_layout(tuple(r.shape), True))
        if r.node.name in seen and seen[r.node.name] != derived:
            found.append(Mismatch(r.node.name, r.node.loc, "output shape", str(derived), str(seen[r.node.name]), {},
                                  "Keras"))  # fmt: skip
        if layer.count_params() != r.params:
            found.append(Mismatch(r.node.name, r.node.loc, "parameters", f"{r.params:,}",
                                  f"{layer.count_params():,}", {}, "Keras"))  # fmt: skip
    return found


def report(
    model: Any,
    inputs: Sequence[Any] = (),
    verify: bool = True,
    values: Mapping[str, int] | None = None,
    label: str | None = None,
) -> ShapesReport:
    """The shapes report of a live Keras model (``cnncalc.summary(keras_model)``): verified by torch and by Keras."""
    from ..pipeline import shapes

    found = shapes(
        spec(model, inputs, values or {}, str(label or getattr(model, "name", None) or "model")), values, verify=verify
    )
    return checked(found, model) if verify else found


def checked(report: ShapesReport, model: Any) -> ShapesReport:
    """The report with Keras' own disagreements among its mismatches."""
    found = keras_mismatches(report, model)
    if found:
        return dataclasses.replace(report, consistency=report.consistency + tuple(found))
    version = getattr(sys.modules.get("keras"), "__version__", "")
    note = (f"Keras {version}'s own forward pass (torch backend, hooks on model.layers) agrees: every layer's output "
            "shape and count_params()")  # fmt: skip
    return dataclasses.replace(report, notes=(*report.notes, note))


__all__ = [
    "INSTALL",
    "build",
    "checked",
    "import_hint",
    "is_keras_model",
    "keras_mismatches",
    "report",
    "select_backend",
    "spec",
]
