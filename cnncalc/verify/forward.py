"""Checking an analysis against torch: build, run a forward pass, compare every number.

Weight values never matter here, only shapes and counts, so the network is
built on the meta device (no initialisation: 1.2 s saved on VGG-16) and each
parameter and buffer is then replaced by an uninitialised tensor of the same
shape on the target device. ``Module.to_empty`` would do the same but imports
sympy inside torch, a flat ~0.4 s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import symbolic as sym
from ..analysis.shapes import Analysis
from ..budget import tick
from ..errors import CnnCalcError, Loc, described
from ..graph.expand import INPUT
from ..layers import fmt_shape
from ..report import Mismatch, PointCheck
from .torchload import import_torch

Progress = Callable[[int], None]
"""Called with the number of layers just run (for progress bars)."""


def verify(analysis: Analysis, device: str = "auto", batch: int = 2, progress: Progress | None = None) -> PointCheck:
    """Build ``analysis``'s network in torch, run it, and compare shapes, parameters and buffers."""
    import time

    from .network import Network
    from .torchload import resolve_device

    start = time.perf_counter()
    torch = import_torch()
    dev = resolve_device(torch, device)
    note = ""
    if dev.type != "meta" and _too_large(analysis, batch):  # estimated before anything is allocated
        dev, note = torch.device("meta"), _too_large(analysis, batch)
    point = {k: int(v) for k, v in analysis.graph.binding.items()}
    layers = analysis.layers
    mismatches: list[Mismatch] = []
    modules = []
    with torch.device("meta"):
        for r in layers:
            tick(r.node.loc, "building the network in torch")
            try:
                ins = [analysis.graph.input_shape if i == INPUT else layers[i].shape for i in r.node.inputs]
                modules.append(r.node.layer.build(r.args, torch.nn, ins))
            except Exception as e:  # torch refusing arguments we accepted is a disagreement
                mismatches.append(
                    Mismatch(
                        r.node.name,
                        r.node.loc,
                        "construction",
                        "valid arguments",
                        f"an error: {described(e, 300)}",
                        point,
                    )
                )
                return PointCheck(point, (False,) * len(layers), tuple(mismatches), time.perf_counter() - start,
                                  note)  # fmt: skip
        net = Network(modules, [r.node.inputs for r in layers])
    if dev.type != "meta":
        try:
            _materialise(torch, net, dev)
        except (RuntimeError, MemoryError) as e:  # the estimate fit the limit, the machine did not
            if not _out_of_memory(e):
                raise
            return _on_meta(analysis, batch, progress, e)
    for r, m in zip(layers, net.nodes):
        if not r.node.trainable:
            for p in m.parameters():
                p.requires_grad_(False)
    net.eval()

    def after(i: int) -> None:
        tick(layers[i].node.loc, "verifying with torch")
        if progress is not None:
            progress(1)

    net.on_node = after
    x = torch.zeros((batch, *analysis.graph.input_shape), device=dev)
    import warnings

    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's performance notes are not the user's problem here
            net(x)
    except CnnCalcError:  # the time limit (budget.tick): not a disagreement
        raise
    except Exception as e:
        if dev.type != "meta" and _out_of_memory(e):  # never a mismatch: torch did not disagree, memory ran out
            del net
            return _on_meta(analysis, batch, progress, e)
        r = layers[net.current]
        mismatches.append(
            Mismatch(
                r.node.name,
                r.node.loc,
                "forward pass",
                f"output {fmt_shape(r.shape)}",
                f"an error: {described(e, 300)}",
                point,
            )
        )
    verified = []
    for i, (r, m) in enumerate(zip(layers, net.nodes)):
        ok = i < len(net.shapes)
        if ok:
            got = net.shapes[i]
            if got[0] != batch or got[1:] != tuple(r.shape):
                ok = False
                mismatches.append(
                    Mismatch(
                        r.node.name,
                        r.node.loc,
                        "output shape",
                        fmt_shape(r.shape),
                        fmt_shape(got[1:]) + ("" if got[0] == batch else f" with batch {got[0]}"),
                        point,
                    )
                )
        for what, derived, actual in (
            ("parameters", r.params, sum(p.numel() for p in m.parameters())),
            ("buffers", r.buffers, sum(b.numel() for b in m.buffers())),
        ):
            if derived != actual:
                ok = False
                mismatches.append(Mismatch(r.node.name, r.node.loc, what, sym.to_text(derived), str(actual), point))
        verified.append(ok)
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    if trainable != analysis.trainable_params:
        mismatches.append(
            Mismatch(
                analysis.graph.name,
                Loc(analysis.graph.file, 1, 1),
                "trainable parameters",
                sym.to_text(analysis.trainable_params),
                str(trainable),
                point,
            )
        )
    return PointCheck(point, tuple(verified), tuple(mismatches), time.perf_counter() - start, note)


def _out_of_memory(e: BaseException) -> bool:
    text = str(e)
    return isinstance(e, MemoryError) or "can't allocate memory" in text or "out of memory" in text.lower()


def _on_meta(analysis: Analysis, batch: int, progress: Progress | None, e: BaseException) -> PointCheck:
    """Verify on the meta device after a real forward pass ran out of memory."""
    import dataclasses

    check = verify(analysis, "meta", batch, progress)
    why = f"verified on torch's meta device (shapes and counts, no values): a real forward pass at batch {batch} ran " \
          f"out of memory ({described(e, 120)})"  # fmt: skip
    return dataclasses.replace(check, note=why)


def _elements(analysis: Analysis, r: Any, batch: int) -> int:
    """The most elements of one tensor a layer makes: its output, its parameters, its work space."""
    ins = [analysis.graph.input_shape if i == INPUT else analysis.layers[i].shape for i in r.node.inputs]
    return max(
        batch * int(sym.product(r.shape)), int(r.params), batch * int(r.node.layer.workspace(r.args, ins, r.shape))
    )


def _too_large(analysis: Analysis, batch: int) -> str:
    """Why a real forward pass is not run (its estimated memory is over the limit), or ""; an error when torch
    could not even describe the tensors (their sizes overflow int64), so that nothing can be verified."""
    from .. import budget
    from ..analysis.cost import forward_bytes, scientific

    need, largest = forward_bytes(analysis, batch)
    if largest * 8 >= budget.TORCH_MAX_NUMEL:
        at = ", ".join(f"{k}={v}" for k, v in analysis.graph.binding.items())
        culprit = next((r for r in analysis.layers if _elements(analysis, r, batch) * 8 >= budget.TORCH_MAX_NUMEL),
                       None)  # fmt: skip
        where = f"{culprit.node.name!r} makes a tensor of" if culprit else "one of its tensors has"
        count = f"{largest:,}" if largest < 10**24 else scientific(largest)
        raise CnnCalcError(f"torch cannot verify this network{f' at {at}' if at else ''}: {where} {count} elements, "
                           "beyond what torch can describe (2**60)", culprit.node.loc if culprit else None,
                           "derive without torch: --no-verify; or use smaller sizes")  # fmt: skip
    limit = budget.max_memory()
    if need <= limit:
        return ""
    return (
        f"verified on torch's meta device (shapes and counts, no values): a real forward pass at batch {batch} "
        f"needs about {budget.size_text(need)}, over the --max-memory limit of {budget.limit_text(limit)}"
    )


def _materialise(torch: Any, net: Any, dev: Any) -> None:
    """Give every meta parameter and buffer real, uninitialised storage on ``dev``."""
    for module in net.modules():
        for key, p in module._parameters.items():
            if p is not None:
                fresh = torch.zeros(p.shape, dtype=p.dtype, device=dev)
                module._parameters[key] = torch.nn.Parameter(fresh, requires_grad=p.requires_grad)
        for key, b in module._buffers.items():
            if b is not None:
                module._buffers[key] = torch.zeros(b.shape, dtype=b.dtype, device=dev)


def torch_version() -> str:
    """The installed torch version."""
    return str(import_torch().__version__)
