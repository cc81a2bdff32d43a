"""Python model targets (``model.py:Net``, ``package.module:factory``): import, run with hooks, check.

The flow mirrors the YAML side: :mod:`.load` and :mod:`.inputs` turn the command
line into a model and input specs (the parse step), :mod:`.trace` runs one
hooked forward pass, :mod:`.fxspec` turns a traceable model into an
architecture spec for the symbolic engine, :mod:`.crash` and :mod:`.batch`
explain what went wrong. Importing a target executes its code, as pytest does.
"""
