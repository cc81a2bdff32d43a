"""Keras models: saved files (``.keras``, ``.json``, ``.h5``) and live models, as architecture specs.

One reader (:mod:`.config`) maps a Keras model config onto the layer catalogue's Keras names;
:mod:`.files` gets the config out of a saved file without Keras, :mod:`.weights` compares the
saved weights' shapes with the derived counts, :mod:`.target` takes a live Keras model (Keras on
its torch backend). Keras is imported only by :mod:`.target`, and only for a Keras target.
"""

from __future__ import annotations

from .files import is_keras_file

__all__ = ["is_keras_file"]
