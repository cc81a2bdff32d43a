"""The model zoo as a standing measurement: every torchvision model (and a sample of timm) through cnncalc.

    python benchmarks/zoo.py                    # everything, writes benchmarks/ZOO.md (and zoo.json)
    python benchmarks/zoo.py --only resnet18 densenet121 --jobs 2

Run it in a venv that has torchvision (and timm, torchinfo) besides cnncalc; never in CI. Weights are
never downloaded (weights=None, weights_backbone=None). For each model, in fresh processes:

- ``cnncalc shapes`` and ``cnncalc check``: exit code, wall time, peak memory;
- torchinfo's ``summary`` of the same model and input: wall time, peak memory (the ratios' baseline);
- the reference: ``sum(p.numel())``, trainable and buffer counts, and the output shapes of a real forward
  pass, compared with what ``cnncalc shapes`` reports;
- classification models: the symbolic pass (``--input 3xHxW``): traced or why not, the conditions, and a
  brute-force check of the accepted sizes against torch itself (meta tensors: torch's own shape rules)
  at every H = W from 1 to 64 and a random sample up to 512.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TIMEOUT = int(os.environ.get("ZOO_TIMEOUT", "900"))  # seconds per process
SAMPLE = 16  # random sizes in 65..512 besides every size 1..64

REFERENCE = r"""
import json, random, sys, warnings
warnings.filterwarnings("ignore")
import torch
sys.path.insert(0, {root!r})
from benchmarks.zoo import build
model, inputs = build({entry!r})
out = {{"versions": {{"torch": torch.__version__, "python": sys.version.split()[0]}}}}
out["params"] = sum(p.numel() for p in model.parameters())
out["trainable"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
out["buffers"] = sum(b.numel() for b in model.buffers())
model.eval()
from cnncalc.pymodel.trace import flatten
from cnncalc.pymodel.inputs import make_tensors, parse_inputs
specs = parse_inputs(["x".join(map(str, s)) for s in inputs])
with torch.no_grad():  # the inputs cnncalc makes (seed 0): data-dependent sizes (box counts) come out the same
    y = model(*make_tensors(torch, inputs, specs, 2, torch.device("cpu"), torch.float32, 2))
out["outputs"] = [[p, list(t.shape)] for p, t in flatten(torch, y)]
if {symbolic!r}:
    from cnncalc.pymodel.fxspec import convert, accepted_sizes, accepted_values, NotConvertible
    from cnncalc.pymodel.inputs import parse_inputs
    from cnncalc.errors import CnnCalcError
    try:
        fx = convert(model, parse_inputs(["3xHxW"]), {{"H": inputs[0][1], "W": inputs[0][2]}}, "zoo")
        pairs, out["accepted"] = accepted_sizes(fx)
        out["conditions"] = [text for text, _ in pairs]  # as people read them (the machine form is for JSON)
        good = set(accepted_values(fx, 512))
        out["symbolic"] = "traced"
    except NotConvertible as e:
        out["symbolic"] = "not traced: " + str(e)
    except CnnCalcError as e:
        out["symbolic"] = "refused: " + e.message
    if out["symbolic"] == "traced":
        rng = random.Random(0)
        sizes = list(range(1, 65)) + sorted(rng.sample(range(65, 513), {sample}))
        meta = model.to("meta")
        agree, disagree = 0, []
        for s in sizes:
            try:
                with torch.no_grad():
                    meta(torch.empty(1, 3, s, s, device="meta"))
                ok = True
            except Exception:
                ok = False
            if ok == (s in good):
                agree += 1
            else:
                disagree.append([s, ok])
        out["brute"] = {{"sizes": len(sizes), "agree": agree, "disagree": disagree}}
print("ZOO" + json.dumps(out))
"""

TORCHINFO = r"""
import sys, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, {root!r})
from benchmarks.zoo import build
from torchinfo import summary
model, inputs = build({entry!r})
summary(model, input_size=[(1, *s) for s in inputs])
"""


def build(entry: dict[str, Any]) -> tuple[Any, list[tuple[int, ...]]]:
    """The model of a zoo entry (no weights) and its per-sample input shapes."""
    import importlib

    module, name = entry["target"].split(":")
    factory = getattr(importlib.import_module(module), name)
    return factory(**entry["kwargs"]), [tuple(s) for s in entry["inputs"]]


def torchvision_entries() -> list[dict[str, Any]]:
    """Every model torchvision lists, with its task, factory, no-download arguments and input."""
    import inspect

    import torchvision.models as M

    tasks = [("classification", M), ("segmentation", M.segmentation), ("detection", M.detection),
             ("video", M.video), ("optical flow", M.optical_flow), ("quantization", M.quantization)]  # fmt: skip
    out = []
    for task, module in tasks:
        for name in sorted(M.list_models(module=module)):
            params = inspect.signature(M.get_model_builder(name)).parameters
            kwargs: dict[str, Any] = {"name": name}
            kwargs.update({k: None for k in ("weights", "weights_backbone") if k in params})
            if task == "quantization":
                kwargs["quantize"] = False
            if task == "video":
                inputs = [[3, 16, 224, 224]] if name.startswith(("mvit", "swin3d", "s3d")) else [[3, 16, 112, 112]]
            elif task == "optical flow":
                inputs = [[3, 128, 128], [3, 128, 128]]
            elif task == "detection":
                inputs = [[3, 320, 320]]
            else:
                inputs = [[3, 224, 224]]
            out.append({"task": task, "name": name, "target": "torchvision.models:get_model", "kwargs": kwargs,
                        "inputs": inputs, "symbolic": task == "classification"})  # fmt: skip
    return out


_SMALL = ("atto", "femto", "pico", "nano", "tiny", "mini", "small", "b0", "18", "050", "075", "100", "_s", "t8", "s1")


def timm_entries(every: int = 2) -> list[dict[str, Any]]:
    """One model from every ``every``-th timm family (module): a small variant where the names say so."""
    import timm

    out = []
    for k, mod in enumerate(sorted(timm.list_modules())):
        names = [n for n in timm.list_models(module=mod) if not n.startswith("test_")]
        if k % every or not names:
            continue
        small = [n for n in names if any(s in n for s in _SMALL)] or names
        name = min(small, key=lambda n: (len(n), n))
        size = list(timm.get_pretrained_cfg(name).input_size) if timm.get_pretrained_cfg(name) else [3, 224, 224]
        out.append({"task": f"timm ({mod})", "name": name, "target": "timm:create_model",
                    "kwargs": {"model_name": name}, "inputs": [size], "symbolic": True})  # fmt: skip
    return out


def run(cmd: list[str], timeout: int = TIMEOUT) -> dict[str, Any]:
    """Exit code, wall time, peak RSS (MiB, of this process alone) and output of one fresh process."""
    import tempfile
    import threading

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, env=env, text=True)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        rc: Any = os.waitstatus_to_exitcode(status)
        if wall >= timeout:
            rc = "timeout"
        return {"rc": rc, "time": wall, "mem": usage.ru_maxrss / 1024, "out": out.read(), "err": err.read()}


def measure(entry: dict[str, Any]) -> dict[str, Any]:
    """Everything about one model (run in a worker process; each tool in its own fresh process)."""
    target = entry["target"]
    args = [x for s in entry["inputs"] for x in ("--input", "x".join(map(str, s)))]
    args += ["--kwargs", json.dumps(entry["kwargs"])]
    res: dict[str, Any] = {**entry}
    ref = run([PY, "-c", REFERENCE.format(root=str(ROOT), entry=entry, symbolic=entry["symbolic"], sample=SAMPLE)])
    line = next((x for x in ref["out"].splitlines() if x.startswith("ZOO")), None)
    res["reference"] = json.loads(line[3:]) if line else {"error": (ref["err"].strip().splitlines() or ["?"])[-1]}
    res["shapes"] = _tool([PY, "-m", "cnncalc", "shapes", target, *args, "--format", "json"])
    res["check"] = _tool([PY, "-m", "cnncalc", "check", target, *args])
    res["torchinfo"] = _tool([PY, "-c", TORCHINFO.format(root=str(ROOT), entry=entry)])
    try:
        doc = json.loads(res["shapes"].pop("out") or "{}")
    except json.JSONDecodeError:
        doc = {}
    res["cnncalc"] = {"totals": doc.get("totals"), "outputs": [[o["path"], o["shape"]] for o in doc.get("outputs", [])]}
    res["check_lines"] = [
        x.strip() for x in res["check"].pop("out", "").splitlines() if x.strip().startswith(("✗", "error"))
    ]
    res["torchinfo"].pop("out", None)
    return res


def _tool(cmd: list[str]) -> dict[str, Any]:
    r = run(cmd)
    r.pop("err", None)
    return r


def verdicts(r: dict[str, Any]) -> dict[str, Any]:
    """What agreed: counts, output shapes, symbolic conditions."""
    ref, got = r["reference"], r["cnncalc"]
    totals = got.get("totals") or {}
    counts = "error" in ref or not totals or (totals.get("params"), totals.get("trainable"), totals.get("buffers")) == (
        ref["params"], ref["trainable"], ref["buffers"])  # fmt: skip
    outputs = "error" in ref or [o[1] for o in got["outputs"]] == [o[1] for o in ref["outputs"]]
    return {"counts": counts, "outputs": outputs}


def write(results: list[dict[str, Any]], path: Path) -> None:
    """ZOO.md: totals first, then one table per task."""
    import platform

    lines = ["# The model zoo through cnncalc", ""]
    ok = [r for r in results if "error" not in r["reference"]]
    counted = [r for r in ok if verdicts(r)["counts"] and r["cnncalc"]["totals"]]
    shaped = [r for r in ok if verdicts(r)["outputs"] and r["cnncalc"]["outputs"]]
    ratios = [r["check"]["time"] / r["torchinfo"]["time"] for r in results
              if r["check"]["rc"] in (0, 1) and r["torchinfo"]["rc"] == 0]  # fmt: skip
    s_ratios = [r["shapes"]["time"] / r["torchinfo"]["time"] for r in results
                if r["shapes"]["rc"] in (0, 1) and r["torchinfo"]["rc"] == 0]  # fmt: skip
    cls = [r for r in results if r["task"] == "classification"]
    traced = [r for r in cls if r["reference"].get("symbolic") == "traced"]
    confirmed = [r for r in traced if r["reference"].get("brute") and not r["reference"]["brute"]["disagree"]]
    tv = [r for r in results if not r["task"].startswith("timm")]
    tm = [r for r in results if r["task"].startswith("timm")]
    timm_traced = [r for r in tm if r["reference"].get("symbolic") == "traced"]
    seen = next((r["reference"]["versions"] for r in results if "versions" in r["reference"]), None)
    where = f"torch {seen['torch']}; Python {seen['python']}" if seen else f"Python {platform.python_version()}"
    lines += [f"{where}; " + _versions() + f"; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}", "",
              f"- Models: {len(results)} ({len(tv)} torchvision, {len(tm)} timm in {len(tm)} families)",
              f"- Exit codes of `cnncalc shapes`: {_codes([r['shapes']['rc'] for r in results])}; "
              f"of `cnncalc check`: {_codes([r['check']['rc'] for r in results])}",
              f"- Totals (params, trainable, buffers) equal to `sum(p.numel())`: {len(counted)} of {len(ok)}",
              f"- Output shapes equal to a real forward pass: {len(shaped)} of {len(ok)}",
              f"- Symbolic pass on torchvision classification: traced {len(traced)} of {len(cls)} "
              f"({100 * len(traced) / max(len(cls), 1):.0f}%); conditions confirmed by brute force on "
              f"{len(confirmed)} of {len(traced)}",
              f"- Symbolic pass on the timm sample: traced {len(timm_traced)} of {len(tm)}",
              f"- Median `check` / torchinfo time: {statistics.median(ratios):.2f}x over {len(ratios)} models"
              if ratios else "- no check/torchinfo ratio",
              f"- Median `shapes` / torchinfo time: {statistics.median(s_ratios):.2f}x; worst "
              f"{max(s_ratios):.2f}x" if s_ratios else "", ""]  # fmt: skip
    bad = [r for r in traced if r["reference"].get("brute", {}).get("disagree")]
    if bad:
        lines += ["## Disagreements of the accepted sizes with torch", ""]
        for r in bad:
            d = r["reference"]["brute"]["disagree"]
            lines.append(
                f"- {r['name']}: " + ", ".join(f"{s} ({'torch runs' if ok_ else 'torch fails'})" for s, ok_ in d[:12])
            )
        lines.append("")
    for task in dict.fromkeys(r["task"] if not r["task"].startswith("timm") else "timm" for r in results):
        rows = [r for r in results if (r["task"] == task) or (task == "timm" and r["task"].startswith("timm"))]
        lines += [f"## {task} ({len(rows)})", "",
                  "| model | input | params | counts | output | shapes | check | torchinfo | check/ti | symbolic | "
                  "valid sizes | brute force |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in rows:
            lines.append(_row(r))
        lines.append("")
    fails = [(r["name"], r["check_lines"]) for r in results if r["check"]["rc"] not in (0,)]
    if fails:
        lines += ["## Why `check` did not pass", ""]
        lines += [f"- {n}: " + (" / ".join(x[:300] for x in c[:2]) or "(no finding line)") for n, c in fails]
        lines.append("")
    path.write_text("\n".join(lines) + "\n")


def _row(r: dict[str, Any]) -> str:
    ref = r["reference"]
    v = verdicts(r)
    sym = ref.get("symbolic", "") if r["symbolic"] else "-"
    brute = ref.get("brute")
    bf = f"{brute['agree']}/{brute['sizes']}" + (f", {len(brute['disagree'])} differ" if brute["disagree"] else "") \
        if brute else "-"  # fmt: skip
    ti = r["torchinfo"]
    ratio = f"{r['check']['time'] / ti['time']:.2f}" if ti["rc"] == 0 and r["check"]["rc"] in (0, 1) else "-"
    conditions = [c[0] if isinstance(c, list) else c for c in ref.get("conditions", [])]  # older runs stored pairs
    valid = "; ".join([*conditions, ref.get("accepted", "")]).strip("; ") if sym == "traced" else ""
    cells = [r["name"], " + ".join("x".join(map(str, s)) for s in r["inputs"]),
             f"{ref['params']:,}" if "params" in ref else ref.get("error", "?")[:80],
             "✓" if v["counts"] else "✗", "✓" if v["outputs"] else "✗",
             _cell(r["shapes"]), _cell(r["check"]), _cell(ti), ratio,
             sym if len(sym) < 90 else sym[:87] + "...", valid, bf]  # fmt: skip
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _cell(t: dict[str, Any]) -> str:
    return f"{t['rc']} · {t['time']:.1f} s · {t['mem']:.0f} MiB"


def _codes(codes: list[Any]) -> str:
    counts: dict[str, int] = {}
    for c in codes:
        counts[str(c)] = counts.get(str(c), 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


def _versions() -> str:
    out = []
    for name in ("torchvision", "timm", "torchinfo"):
        try:
            out.append(f"{name} {__import__(name).__version__}")
        except ImportError:
            out.append(f"no {name}")
    return "; ".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="model names to run (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="models measured at once (timings are per process)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process (0: torch's default)")
    parser.add_argument("--no-timm", action="store_true", help="torchvision only")
    parser.add_argument("--timm-every", type=int, default=2, help="one model from every N-th timm family")
    parser.add_argument("--report-only", action="store_true", help="write ZOO.md from the results file, run nothing")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "ZOO.md"))
    args = parser.parse_args()
    out = Path(args.out)
    store = out.with_suffix(".jsonl")  # one result per line, written as each model finishes (a run can resume)
    done = [json.loads(x) for x in store.read_text().splitlines() if x.strip()] if store.exists() else []
    if not args.report_only:
        if args.threads:
            os.environ["OMP_NUM_THREADS"] = str(args.threads)
        entries = torchvision_entries() + ([] if args.no_timm else timm_entries(args.timm_every))
        if args.only:
            entries = [e for e in entries if e["name"] in args.only]
        have = {r["name"] for r in done}
        entries = [e for e in entries if e["name"] not in have]
        order = ["classification", "detection", "segmentation", "video", "optical flow", "quantization"]
        entries.sort(key=lambda e: order.index(e["task"]) if e["task"] in order else len(order))
        with ProcessPoolExecutor(args.jobs) as pool, store.open("a") as log:
            for r in pool.map(measure, entries):
                done.append(r)
                log.write(json.dumps(r, default=str) + "\n")
                log.flush()
                print(f"{r['name']}: shapes {r['shapes']['rc']} check {r['check']['rc']} "
                      f"{r['reference'].get('symbolic', '')[:80]}", flush=True)  # fmt: skip
    done.sort(key=lambda r: (r["task"].startswith("timm"), r["task"], r["name"]))
    write(done, out)
    print(out.read_text().split("## ")[0])


if __name__ == "__main__":
    main()
