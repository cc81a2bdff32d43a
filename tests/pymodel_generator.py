"""Random PyTorch model *source files* in the styles real CNN code uses, and plain torch as the judge.

Written from cnncalc's README (what ``check``, ``shapes --input 3xHxW`` and the JSON promise) and torch's
documentation (``F.interpolate``, ``F.pad``, ``Tensor.view``, ``torch.cat``, ``chunk``/``split``...), never from
the tracer's code: the idioms are what CNN code writes, not what the tracer knows. Each model is written as
``nn.Sequential`` parts or an explicit ``forward``, in a ``.py`` file or a notebook, and a known share is broken
on purpose (a wrong ``view(-1, N)``, batch folding, a softmax over the batch, a mean over the batch, a permute
that moves the batch). :func:`judge` compares cnncalc with a brute force in plain torch over square and
non-square sizes: the ``check`` verdict, parameter counts, accepted sizes and symbolic output shapes.
"""

from __future__ import annotations

import json
import random
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IDIOMS = ("conv", "pool", "batchnorm", "residual", "odd_residual", "se_block", "unet_pad", "unet_interp",
          "unet_plain", "crop_cat", "chunk", "split", "transpose", "mean_keepdim", "amax_keepdim",
          "interp_scale", "sequential", "head_global", "head_view_size0", "head_reshape_shape0", "head_flatten",
          "head_view_minus1", "head_none", "notebook")  # fmt: skip
BROKEN = ("wrong_view", "flatten_batch", "view_fixed_batch", "softmax_dim0", "mean_dim0", "permute_batch")


@dataclass
class Generated:
    """One random model: its source, the class name, the idioms drawn and what is broken (or "")."""

    source: str
    idioms: list[str]
    broken: str
    size: int  # the default input size S (3xSxS)
    notebook: bool = False


@dataclass
class _Writer:
    rng: random.Random
    init: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    idioms: list[str] = field(default_factory=list)
    c: int = 3
    n: int = 0
    halvings: int = 0

    def name(self, kind: str) -> str:
        self.n += 1
        return f"{kind}{self.n}"

    def conv(self, out: int, k: int = 3, stride: int = 1, pad: int | None = None) -> str:
        name = self.name("conv")
        pad = k // 2 if pad is None else pad
        self.init.append(f"self.{name} = nn.Conv2d({self.c}, {out}, {k}, stride={stride}, padding={pad})")
        self.c = out
        return f"self.{name}"


def generate(seed: int, broken_share: float = 0.25) -> Generated:
    """A random model file (``class Net``), reproducible from ``seed``; its body runs at 3xSxS (drawn again
    when a draw does not: an odd size before a residual that needs even ones)."""
    for attempt in range(100):
        try:
            return _generate(random.Random(f"{seed}/{attempt}"), broken_share)
        except RuntimeError:
            continue
    raise AssertionError(f"no model that runs at its size from seed {seed}")


def _generate(rng: random.Random, broken_share: float) -> Generated:
    w = _Writer(rng)
    size = rng.choice([32, 48, 64])
    sequential = rng.random() < 0.3
    if sequential:
        w.idioms.append("sequential")
        layers = []
        for _ in range(rng.randint(1, 3)):
            out = rng.choice([4, 8, 16])
            layers += [f"nn.Conv2d({w.c}, {out}, 3, padding=1)", f"nn.BatchNorm2d({out})", "nn.ReLU()"]
            if rng.random() < 0.5 and w.halvings < 2:
                layers.append("nn.MaxPool2d(2)")
                w.halvings += 1
            w.c = out
        w.init.append("self.features = nn.Sequential(\n    " + ",\n    ".join(layers) + ",\n)")
        w.body.append("x = self.features(x)")
    else:
        w.body.append(f"x = F.relu({w.conv(rng.choice([4, 8]))}(x))")
        w.idioms.append("conv")
    for _ in range(rng.randint(2, 5)):
        _block(w, rng.choice(_BLOCKS))
    broken = rng.choice(BROKEN) if rng.random() < broken_share else ""
    head = rng.choice(["head_global", "head_view_size0", "head_reshape_shape0", "head_flatten", "head_view_minus1",
                       "head_none"])  # fmt: skip
    if broken == "wrong_view":
        head = "head_view_minus1"
    w.idioms.append(head)
    probe = _source(w.init, [*w.body, "return x"])
    features = _features(probe, size)
    if head == "head_global":
        pool = rng.choice(["F.adaptive_avg_pool2d(x, 1).flatten(1)", "torch.flatten(F.adaptive_max_pool2d(x, 1), 1)",
                           "x.mean((2, 3))", "x.amax(dim=(2, 3))"])  # fmt: skip
        w.body.append(f"x = {pool}")
        w.init.append(f"self.fc = nn.Linear({w.c}, 10)")
        w.body.append("x = self.fc(x)")
    elif head != "head_none":
        n = features * 2 if broken == "wrong_view" and rng.random() < 0.5 else features
        if broken == "wrong_view" and n == features:
            n = features // 2 if features % 2 == 0 else features * 3
        flat = {"head_view_size0": "x.view(x.size(0), -1)", "head_reshape_shape0": "x.reshape(x.shape[0], -1)",
                "head_flatten": "torch.flatten(x, 1)", "head_view_minus1": f"x.view(-1, {n})"}[head]  # fmt: skip
        w.body.append(f"x = {flat}")
        w.init.append(f"self.fc = nn.Linear({n}, 10)")
        w.body.append("x = self.fc(x)")
    w.body += {"": [], "wrong_view": [], "flatten_batch": ["x = x.flatten(0, 1)"],
               "view_fixed_batch": ["x = x.reshape(2, -1)"], "softmax_dim0": ["x = torch.softmax(x, dim=0)"],
               "mean_dim0": ["x = x - x.mean(0)"], "permute_batch": ["x = x.transpose(0, 1)"]}[broken]  # fmt: skip
    w.body.append("return x")
    notebook = rng.random() < 0.2
    if notebook:
        w.idioms.append("notebook")
    source = _source(w.init, w.body)
    if not broken:
        _features(source, size)  # a correct model runs at its size (a view of a transposed map does not: drawn again)
    return Generated(source, w.idioms, broken, size, notebook)


def _block(w: _Writer, kind: str) -> None:
    rng = w.rng
    if kind == "conv":
        k = rng.choice([1, 3, 5])
        stride = rng.choice([1, 1, 2])
        w.body.append(f"x = F.relu({w.conv(rng.choice([4, 8, 16]), k, stride, rng.choice([0, k // 2]))}(x))")
        w.halvings += stride == 2
    elif kind == "pool" and w.halvings < 3:
        w.body.append(rng.choice(["x = F.max_pool2d(x, 2)", "x = F.avg_pool2d(x, 3, 2, 1)", "x = self.pool(x)"]))
        if "x = self.pool(x)" in w.body[-1]:
            w.init.append("self.pool = nn.MaxPool2d(2, 2)")
        w.halvings += 1
    elif kind == "batchnorm":
        name = w.name("bn")
        w.init.append(f"self.{name} = nn.BatchNorm2d({w.c})")
        w.body.append(f"x = self.{name}(x)")
    elif kind == "residual":
        name = w.name("conv")
        w.init.append(f"self.{name} = nn.Conv2d({w.c}, {w.c}, 3, padding=1)")
        w.body.append(f"x = x + F.relu(self.{name}(x))")
    elif kind == "odd_residual":  # holds only at even sizes
        w.body.append("x = x + F.interpolate(F.max_pool2d(x, 2), scale_factor=2)")
    elif kind == "se_block":
        a, b = w.name("fc"), w.name("fc")
        w.init += [
            f"self.{a} = nn.Linear({w.c}, {max(w.c // 2, 1)})",
            f"self.{b} = nn.Linear({max(w.c // 2, 1)}, {w.c})",
        ]
        w.body += ["s = F.adaptive_avg_pool2d(x, 1).view(x.size(0), -1)",
                   f"s = torch.sigmoid(self.{b}(F.relu(self.{a}(s))))", "x = x * s.view(x.size(0), -1, 1, 1)"]  # fmt: skip
    elif kind in ("unet_pad", "unet_interp", "unet_plain") and w.halvings < 3:
        up = w.name("up")
        w.init.append(f"self.{up} = nn.ConvTranspose2d({w.c}, {w.c}, 2, stride=2)")
        w.body += ["skip = x", f"y = self.{up}(F.max_pool2d(x, 2))"]
        if kind == "unet_pad":
            w.body += ["dy = skip.size(2) - y.size(2)", "dx = skip.size(3) - y.size(3)",
                       "y = F.pad(y, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])"]  # fmt: skip
        elif kind == "unet_interp":
            w.body.append('y = F.interpolate(y, size=skip.shape[2:], mode="bilinear", align_corners=False)')
        w.body.append("x = torch.cat([skip, y], dim=1)")
        w.c *= 2
    elif kind == "crop_cat":
        conv = w.conv(w.c, 3, 1, 0)
        w.c //= 1
        w.body += ["skip = x", f"y = {conv}(x)", "dh = (skip.size(2) - y.size(2)) // 2",
                   "dw = (skip.size(3) - y.size(3)) // 2",
                   "x = torch.cat([skip[:, :, dh:dh + y.size(2), dw:dw + y.size(3)], y], 1)"]  # fmt: skip
        w.c *= 2
    elif kind == "chunk" and w.c % 2 == 0:
        w.body += ["a, b = x.chunk(2, dim=1)", "x = torch.cat([b, a], dim=1)"]
    elif kind == "split" and w.c > 1:
        w.body += [f"a, b = torch.split(x, [1, {w.c - 1}], dim=1)", "x = torch.cat((b, a), 1)"]
    elif kind == "transpose":
        w.body.append(rng.choice(["x = x.transpose(2, 3)", "x = x.transpose(2, 3).contiguous()",
                                  "x = x.permute(0, 1, 3, 2)"]))  # fmt: skip
    elif kind == "mean_keepdim":
        w.body.append("x = x - x.mean(dim=(2, 3), keepdim=True)")
    elif kind == "amax_keepdim":
        w.body.append("x = x * torch.sigmoid(x.amax(dim=1, keepdim=True))")
    elif kind == "interp_scale" and w.halvings > 0:
        w.body.append(f"x = F.interpolate(x, scale_factor=2, mode={w.rng.choice(['nearest', 'bilinear'])!r})")
        w.halvings -= 1
    else:
        return
    w.idioms.append(kind)


_BLOCKS = ("conv", "pool", "batchnorm", "residual", "odd_residual", "se_block", "unet_pad", "unet_interp", "unet_plain",
           "crop_cat", "chunk", "split", "transpose", "mean_keepdim", "amax_keepdim", "interp_scale")  # fmt: skip


def _source(init: list[str], body: list[str]) -> str:
    lines = ["import torch", "import torch.nn.functional as F", "from torch import nn", "", "",
             "class Net(nn.Module):", "    def __init__(self):", "        super().__init__()"]  # fmt: skip
    lines += [textwrap.indent(x, " " * 8) for x in init]
    lines += ["", "    def forward(self, x):"]
    lines += [" " * 8 + x for x in body]
    return "\n".join(lines) + "\n"


def _features(source: str, size: int) -> int:
    """Per-sample values before the head at 3xSxS (the Linear's in_features in a correct model)."""
    import torch

    space: dict[str, Any] = {}
    exec(compile(source, "<probe>", "exec"), space)
    with torch.no_grad():
        return int(space["Net"]().eval()(torch.zeros(1, 3, size, size)).numel())


def write(model: Generated, folder: Path, stem: str) -> str:
    """The model as a file in ``folder``; the target text (``path.py:Net`` or ``path.ipynb:Net``)."""
    if not model.notebook:
        path = folder / f"{stem}.py"
        path.write_text(model.source)
        return f"{path}:Net"
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    head, _, cls = model.source.partition("\n\n\n")
    nb = new_notebook()
    nb.cells = [new_markdown_cell("# A model"), new_code_cell(head), new_code_cell(cls),
                new_code_cell("model = Net()\nmodel")]  # fmt: skip
    path = folder / f"{stem}.ipynb"
    nbformat.write(nb, str(path))
    return f"{path}:Net"


# --- plain torch, the judge ------------------------------------------------------------------------


def load(model: Generated) -> Any:
    space: dict[str, Any] = {}
    exec(compile(model.source, "<model>", "exec"), space)
    return space["Net"]


def torch_check(cls: Any, size: int) -> bool:
    """The model at 3xSxS is right: it runs at batch 1..5, dim 0 of the output is the batch, samples never mix."""
    import torch

    torch.manual_seed(0)
    model = cls().eval()
    shapes = set()
    with torch.no_grad():
        for b in range(1, 6):
            x = torch.randn(b, 3, size, size)
            try:
                y = model(x)
            except RuntimeError:
                return False
            if y.dim() == 0 or y.shape[0] != b:
                return False
            shapes.add(tuple(y.shape[1:]))
            if b > 1:
                x2 = x.clone()
                x2[0] = torch.randn(3, size, size)
                if not torch.allclose(model(x2)[1:], y[1:], rtol=1e-4, atol=1e-5):
                    return False
    return len(shapes) == 1


def torch_output(model: Any, h: int, w: int, device: str = "meta") -> tuple[int, ...] | None:
    """The per-sample output shape at 3xHxW (on meta tensors: torch's shape rules, fast), or None where torch
    refuses it or the batch is not kept (batches 2 and 3)."""
    import torch

    out = None
    for b in (2, 3):
        try:
            with torch.no_grad():
                y = model(torch.zeros(b, 3, h, w, device=device))
        except (RuntimeError, ValueError, IndexError):
            return None
        if y.dim() == 0 or y.shape[0] != b:
            return None
        out = tuple(int(d) for d in y.shape[1:])
    return out


def accepts(doc: dict[str, Any], size: dict[str, int]) -> bool:
    """docs/json.md's rules for ``accepted_sizes``."""
    if doc["tie"] == "none":
        return False
    for d in doc["dims"]:
        v = size[d["name"]]
        if not (v in d["only"] if d["only"] is not None else v >= d["min"] and v % d["modulus"] in d["residues"]):
            return False
    tied = [size[n] for n in doc["tied"]]
    if doc["tie"] == "equal":
        return len(set(tied)) == 1
    if doc["tie"] == "blocks":
        return any(all(v in s for v, s in zip(tied, block)) for block in doc["blocks"])
    return True


@dataclass
class Verdict:
    """What cnncalc said and what torch said about one model."""

    traced: bool = False
    disagreements: list[str] = field(default_factory=list)
    exit3: bool = False
    reason: str = ""  # why it was not traced


def judge(model: Generated, target: str, points: int = 40, seed: int = 0) -> Verdict:
    """cnncalc (the CLI and the check API, as users call them) against plain torch."""
    import sympy
    from click.testing import CliRunner

    from cnncalc.checks import CheckOptions, check
    from cnncalc.cli import main

    v = Verdict()
    cls = load(model)
    s = model.size
    numel = sum(p.numel() for p in cls().parameters())
    truth = torch_check(cls, s)
    report = check(target, CheckOptions(), [f"3x{s}x{s}"])
    if report.ok != truth:
        v.disagreements.append(f"check: cnncalc {'passes' if report.ok else 'fails'}, torch "
                               f"{'passes' if truth else 'fails'}: {[f.message for f in report.failures][:2]}")  # fmt: skip
    if report.params is not None and report.params != numel:
        v.disagreements.append(f"params: cnncalc {report.params}, torch {numel}")
    runner = CliRunner()
    got = runner.invoke(main, ["shapes", target, "--input", "3xHxW", "--set", f"H={s}", "--set", f"W={s}",
                               "--format", "json"])  # fmt: skip
    if got.exit_code == 3 or (got.exception is not None and not isinstance(got.exception, SystemExit)):
        v.exit3 = True
        v.disagreements.append(f"shapes exit {got.exit_code}: {got.stderr[-300:]} {got.exception!r}")
        return v
    if got.exit_code not in (0, 1):
        return v
    doc = json.loads(got.stdout)
    if doc["totals"]["params"] != numel:
        v.disagreements.append(f"shapes params: cnncalc {doc['totals']['params']}, torch {numel}")
    sizes = doc["symbolic"]["accepted_sizes"]
    v.reason = doc["symbolic"]["reason"] or ""
    if not doc["symbolic"]["available"] and sizes is None:
        return v
    v.traced = sizes is not None
    if sizes is None:
        return v
    sym = runner.invoke(main, ["shapes", target, "--input", "3xHxW", "--format", "json"])
    out = None
    if sym.exit_code == 0:
        H, W = sympy.symbols("H W", integer=True, positive=True)
        out = [sympy.sympify(d, locals={"H": H, "W": W}) for d in json.loads(sym.stdout)["output_shape"]]
    elif sym.exit_code == 3:
        v.exit3 = True
        v.disagreements.append(f"symbolic shapes exit 3: {sym.stderr[-300:]}")
    meta = cls().eval().to("meta")
    cpu = cls().eval()
    rng = random.Random(seed)
    grid = [(h, h) for h in range(4, 72, 3 if points >= 40 else 9)]
    grid += [(rng.randint(4, 96), rng.randint(4, 96)) for _ in range(points)]
    for h, w in grid:
        real = torch_output(meta, h, w)
        said = accepts(sizes, {"H": h, "W": w})
        if said != (real is not None):  # the meta kernels' strides can differ from the CPU's: ask the CPU
            real = torch_output(cpu, h, w, "cpu")
        if said != (real is not None):
            v.disagreements.append(f"accepted at {h}x{w}: cnncalc {said}, torch {real is not None} ({sizes['text']})")
            break
        if said and out is not None:
            mine = tuple(int(d.subs({H: h, W: w})) if hasattr(d, "subs") else int(d) for d in out)
            if mine != real:
                v.disagreements.append(f"output at {h}x{w}: cnncalc {mine}, torch {real}")
                break
    return v


def run(n: int, folder: Path, seed: int = 0, points: int = 40) -> dict[str, Any]:
    """``n`` models from ``seed``: the coverage table, the traced share and every disagreement."""
    drawn: Counter[str] = Counter()
    traced: Counter[str] = Counter()
    broken: Counter[str] = Counter()
    results = []
    for k in range(n):
        model = generate(seed + k)
        target = write(model, folder, f"gen_{seed + k}")
        verdict = judge(model, target, points, seed + k)
        results.append((model, verdict))
        for i in set(model.idioms):
            drawn[i] += 1
            traced[i] += verdict.traced
        if model.broken:
            broken[model.broken] += 1
    correct = [v for m, v in results if not m.broken]
    return {"models": n, "broken": sum(broken.values()), "broken_kinds": dict(broken),
            "correct_traced": sum(v.traced for v in correct), "correct": len(correct),
            "exit3": sum(v.exit3 for _, v in results),
            "disagreements": [(seed + k, d) for k, (_, v) in enumerate(results) for d in v.disagreements],
            "untraced": [(seed + k, v.reason) for k, (m, v) in enumerate(results) if not m.broken and not v.traced],
            "coverage": {**{i: (drawn[i], traced[i]) for i in IDIOMS if drawn[i]},
                         **{f"broken: {b}": (broken[b], sum(v.traced for m, v in results if m.broken == b))
                            for b in BROKEN if broken[b]}}}  # fmt: skip


def table(summary: dict[str, Any]) -> str:
    """The coverage table and the figures, as printed by benchmarks/pymodel_fuzz.py."""
    lines = ["| idiom | drawn | traced |", "|---|---:|---:|"]
    for idiom, (drawn, traced) in sorted(summary["coverage"].items()):
        lines.append(f"| {idiom} | {drawn} | {traced} |")
    lines += ["", f"models {summary['models']}, broken on purpose {summary['broken']} {summary['broken_kinds']}",
              f"correct models traced symbolically: {summary['correct_traced']} of {summary['correct']}",
              f"exit 3: {summary['exit3']}; disagreements: {len(summary['disagreements'])}"]  # fmt: skip
    lines += [f"  seed {s}: {d}" for s, d in summary["disagreements"]]
    lines += [f"  not traced, seed {s}: {r}" for s, r in summary["untraced"]]
    return "\n".join(lines)
