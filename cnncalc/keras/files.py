"""Saved Keras models read without Keras: ``.keras`` archives, ``to_json()`` files, legacy ``.h5`` files.

A ``.keras`` file is a zip with ``config.json`` (the model config) and ``model.weights.h5``; a
``.json`` file is ``model.to_json()``; an ``.h5`` file keeps the config as its ``model_config``
attribute (read with h5py, when installed). The config goes through keras/config.py; the saved
weights' shapes, when h5py can read them, are kept for the comparison with the derived counts
(keras/weights.py).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CnnCalcError, Loc
from ..parse.limits import MAX_FILE_BYTES
from ..parse.spec import ArchSpec
from .config import KerasConfig, read_config
from .jsonnodes import load_json

SUFFIXES = (".keras", ".h5", ".hdf5")
H5_HINT = "pip install h5py (or pip install 'cnncalc[keras]'), or save the model as .keras"


def is_keras_file(target: str | Path) -> bool:
    """Whether ``target`` names a saved Keras model: ``.keras``/``.h5``, or a ``.json`` that is not an architecture
    file (one without the ``cnncalc:`` key)."""
    text = str(target)
    if ":" in text and not Path(text).exists() and not text.lower().endswith((*SUFFIXES, ".json")):
        return False
    suffix = Path(text).suffix.lower()
    if suffix in SUFFIXES:
        return True
    if suffix != ".json":
        return False
    try:
        with open(text, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return b'"cnncalc"' not in head and b'"class_name"' in head


@dataclass(frozen=True)
class SavedModel:
    """A saved Keras model: its config read, and the saved weights' shapes by layer (None: not read)."""

    config: KerasConfig
    weights: dict[str, list[tuple[int, ...]]] | None  # weights-file layer key -> shapes, in order
    weights_file: str | None = None


def read(path: str | Path, inputs: Sequence[Any] = ()) -> SavedModel:
    """Read a saved Keras model (every problem a located CnnCalcError)."""
    file = str(path)
    p = Path(file)
    if not p.is_file():
        raise CnnCalcError(f"{file}: no such file" if not p.exists() else f"{file}: not a regular file", None)
    suffix = p.suffix.lower()
    if suffix == ".keras":
        return _read_archive(file, inputs)
    if suffix in (".h5", ".hdf5"):
        return _read_h5(file, inputs)
    text = _read_text(file)
    return SavedModel(read_config(load_json(text, file), file, inputs, p.stem), None)


def spec(path: str | Path, inputs: Sequence[Any] = ()) -> ArchSpec:
    """The architecture spec of a saved Keras model, with the saved weights' shapes (when h5py read them) in its
    origin, for pipeline.shapes to compare with the derived counts (keras/weights.py)."""
    import dataclasses

    saved = read(path, inputs)
    s = saved.config.spec
    if saved.weights is None or s.origin is None:
        return s
    by_name = _by_layer(saved)
    origin = dataclasses.replace(s.origin, weights=tuple((n, tuple(by_name.get(n, ()))) for n, _ in s.origin.classes),
                                 weights_file=saved.weights_file or "")  # fmt: skip
    return dataclasses.replace(s, origin=origin)


def _by_layer(saved: SavedModel) -> dict[str, list[tuple[int, ...]]]:
    """The saved shapes by layer name. A legacy .h5 file keys them by name; a .keras archive by the class,
    snake-cased and numbered per class in the model's layer order (conv2d, conv2d_1 whatever the names)."""
    weights = saved.weights or {}
    if saved.weights_file is None or not saved.weights_file.endswith("model.weights.h5"):
        return weights
    from .config import snake_case

    counts: dict[str, int] = {}
    out: dict[str, list[tuple[int, ...]]] = {}
    order = [(saved.config.input_name, "InputLayer")] if saved.config.model_class != "Sequential" else []
    for name, cls in order + [(lay.name, lay.cls) for lay in saved.config.layers]:
        base = snake_case(cls)
        n = counts.get(base, 0)
        counts[base] = n + 1
        out[name] = weights.get(base if n == 0 else f"{base}_{n}", [])
    return out


def _read_text(file: str) -> str:
    from ..inputfile import FileTooLarge, read_bounded

    try:
        raw = read_bounded(file, file, MAX_FILE_BYTES)
    except FileTooLarge as e:
        raise CnnCalcError(e.message, Loc(file, 1, 1)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CnnCalcError(f"the file is not UTF-8 JSON (byte {e.start})", Loc(file, 1, 1)) from None


def _read_archive(file: str, inputs: Sequence[Any]) -> SavedModel:
    try:
        with zipfile.ZipFile(file) as z:
            names = z.namelist()
            if "config.json" not in names:
                raise CnnCalcError(f"{file}: the archive has no config.json (it has {', '.join(names[:5]) or 'nothing'})",
                                   Loc(file, 1, 1), "save the model with model.save('model.keras')")  # fmt: skip
            info = z.getinfo("config.json")
            if info.file_size > MAX_FILE_BYTES:
                raise CnnCalcError(f"{file}: config.json is {info.file_size / 1e6:.1f} MB", Loc(file, 1, 1))
            text = z.read("config.json").decode("utf-8")
            weights = _archive_weights(z) if "model.weights.h5" in names else None
    except zipfile.BadZipFile:
        raise CnnCalcError(f"{file}: not a .keras archive (not a zip file)", Loc(file, 1, 1),
                           "a .keras file is what model.save('model.keras') writes") from None  # fmt: skip
    except UnicodeDecodeError:
        raise CnnCalcError(f"{file}: config.json is not UTF-8", Loc(file, 1, 1)) from None
    where = f"{file}:config.json"
    return SavedModel(read_config(load_json(text, where), where, inputs, Path(file).stem), weights,
                      f"{file}:model.weights.h5" if weights is not None else None)  # fmt: skip


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        return None
    return h5py


def _archive_weights(z: zipfile.ZipFile) -> dict[str, list[tuple[int, ...]]] | None:
    h5py = _h5py()
    if h5py is None:
        return None
    import io

    with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
        return _shapes_v3(f)


def _shapes_v3(f: Any) -> dict[str, list[tuple[int, ...]]]:
    """Keras 3's weights file: ``layers/<key>/vars/<i>``, the key snake-cased from the class, numbered per class."""
    out: dict[str, list[tuple[int, ...]]] = {}
    layers = f.get("layers")
    if layers is None:
        return out
    for key in layers:
        group = layers[key].get("vars")
        if group is None:
            continue
        out[key] = [tuple(group[v].shape) for v in sorted(group, key=lambda s: int(s) if s.isdigit() else 0)]
    return out


def _read_h5(file: str, inputs: Sequence[Any]) -> SavedModel:
    h5py = _h5py()
    if h5py is None:
        raise CnnCalcError(f"{file}: reading a .h5 model needs h5py, which is not installed", None, H5_HINT)
    try:
        f = h5py.File(file, "r")
    except OSError as e:
        raise CnnCalcError(f"{file}: not an HDF5 file ({e})", None) from None
    with f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise CnnCalcError(f"{file}: no model_config attribute (a weights-only file?)", None,
                               "save the whole model: model.save('model.keras')")  # fmt: skip
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        weights = _shapes_h5(f)
    where = f"{file}:model_config"
    return SavedModel(read_config(load_json(text, where), where, inputs, Path(file).stem), weights, file)


def _shapes_h5(f: Any) -> dict[str, list[tuple[int, ...]]]:
    """The legacy file: ``model_weights/<layer name>/...``, listed by the ``weight_names`` attribute."""
    out: dict[str, list[tuple[int, ...]]] = {}
    group = f.get("model_weights")
    if group is None:
        return out
    for name in group:
        g = group[name]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in g.attrs.get("weight_names", [])]
        out[name] = [tuple(g[n].shape) for n in names if n in g]
    return out


__all__ = ["SUFFIXES", "SavedModel", "is_keras_file", "read", "spec"]
