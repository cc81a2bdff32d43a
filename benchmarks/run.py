"""Speed benchmark: cnncalc against torchinfo and torchscan, timed as whole processes.

    python benchmarks/run.py                 # all figures, printed
    python benchmarks/run.py --write         # ... and benchmarks/RESULTS.md
    python benchmarks/run.py --quick         # fewer runs and models
    python benchmarks/run.py --summary       # cnncalc.summary / torchinfo.summary in one process only

Each figure is the median wall time of several runs of a fresh process, with its
peak resident memory. ``python -c "import torch"`` is measured in the same run so
the time beyond importing torch can be compared. Needs the bench extra:
``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CNNCALC = [PY, "-m", "cnncalc", "shapes"]
MODELS = ["lenet5", "resnet18", "resnet50", "vgg16", "unet"]
PEER = (
    "import sys, warnings; warnings.filterwarnings('ignore'); sys.path.insert(0, {root!r})\n"
    "from benchmarks.models import MODELS\n"
    "factory, shape = MODELS[{name!r}]\n"
    "{body}\n"
)
TORCHINFO = "from torchinfo import summary; summary(factory(), input_size=(1, *shape))"
TORCHSCAN = "from torchscan import summary; summary(factory().eval(), shape)"


def measure(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median seconds and max peak RSS (MiB) over ``runs`` fresh processes."""
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        if os.waitstatus_to_exitcode(status) != 0:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"failed: {' '.join(cmd)}\n{err}")
    return statistics.median(times), max(peaks)


def stack(n: int, path: Path) -> None:
    """A synthetic chain of n layers (conv/relu pairs) on a small input."""
    body = "\n".join(
        "  - {type: Conv2d, out_channels: 8, kernel_size: 3, padding: 1}" if i % 2 == 0 else "  - ReLU"
        for i in range(n)
    )
    path.write_text(f"cnncalc: 1\nname: stack{n}\ninput: [8, 8, 8]\nlayers:\n{body}\n")


def targets(runs: int, base: float) -> list[str]:
    """The speed targets of issue 17, each figure against its target (ratios to torchinfo from this run)."""
    target = "benchmarks.models:resnet50"
    args = ["--input", "3x224x224"]
    ti = measure([PY, "-c", PEER.format(root=str(ROOT), name="resnet50", body=TORCHINFO)], runs)
    py_shapes = measure([*CNNCALC, target, *args], runs)
    py_check = measure([PY, "-m", "cnncalc", "check", target, *args], runs)
    yaml_cpu = measure([*CNNCALC, "examples/resnet50.yaml", "--device", "cpu"], runs)
    meta = measure([*CNNCALC, "examples/resnet50.yaml", "--device", "meta"], runs)
    nv18 = measure([*CNNCALC, "examples/resnet18.yaml", "--no-verify"], runs)
    nv_unet = measure([*CNNCALC, "examples/unet.yaml", "--no-verify"], runs)
    rows = [
        ("`shapes examples/resnet50.yaml` (verified) / torchinfo", yaml_cpu[0] / ti[0], "<= 0.75"),
        ("`shapes` of the Python ResNet-50 / torchinfo", py_shapes[0] / ti[0], "<= 1.00"),
        ("`check` of the Python ResNet-50 / torchinfo", py_check[0] / ti[0], "<= 1.25"),
        ("`--device meta` beyond `import torch` / torchinfo's", (meta[0] - base) / max(ti[0] - base, 1e-3), "<= 0.33"),
        ("`--no-verify` examples/resnet18.yaml, seconds", nv18[0], "<= 0.30"),
        ("`--no-verify` examples/unet.yaml, seconds", nv_unet[0], "<= 0.30"),
        ("peak memory, verified ResNet-50 YAML / torchinfo", yaml_cpu[1] / ti[1], "<= 1.00"),
        ("peak memory, Python ResNet-50 `check` / torchinfo", py_check[1] / ti[1], "<= 1.00"),
    ]
    out = ["", f"Targets (issue 17); torchinfo's ResNet-50 summary: {ti[0]:.2f} s, {ti[1]:.0f} MiB", "",
           "| figure | measured | target | met |", "|---|---|---|---|"]  # fmt: skip
    for name, value, goal in rows:
        met = value <= float(goal.split()[-1])
        out.append(f"| {name} | {value:.2f} | {goal} | {'yes' if met else 'no'} |")
        print(out[-1], flush=True)
    return out


def summary_ratios(runs: int) -> list[str]:
    """``cnncalc.summary`` against ``torchinfo.summary`` in this process, after imports and a warm-up call.

    The same call for both (``input_size`` batch first, ``verbose=0``), alternated run by run so that a
    busy machine slows both alike; the median of ``runs`` each (issue 23: at most 1.2x torchinfo).
    """
    import warnings

    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(ROOT))
    import torch
    import torchinfo

    import cnncalc
    from benchmarks.models import SUMMARY_MODELS

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one intra-op thread: on a shared machine, thread scheduling would swamp the ratio

    out = ["", f"In-process `summary` (after imports, one torch thread; median of {runs} alternated runs; wall "
           "time, and CPU time of this process, which a busy machine disturbs less):", "",
           "| model | torchinfo | cnncalc | wall ratio | CPU ratio | target |", "|---|---|---|---|---|---|"]  # fmt: skip
    for name, (factory, shape) in SUMMARY_MODELS.items():
        model = factory()
        calls = {"torchinfo": lambda m=model, s=shape: torchinfo.summary(m, input_size=s, verbose=0),
                 "cnncalc": lambda m=model, s=shape: cnncalc.summary(m, input_size=s, verbose=0)}  # fmt: skip
        wall: dict[str, list[float]] = {k: [] for k in calls}
        cpu: dict[str, list[float]] = {k: [] for k in calls}
        for fn in calls.values():
            fn()  # warm-up: first-call costs (lazy imports, allocator) are not the summary's
        for _ in range(runs):
            for lib, fn in calls.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                fn()
                wall[lib].append(time.perf_counter() - start)
                cpu[lib].append(time.process_time() - start_cpu)
        ti, cc = statistics.median(wall["torchinfo"]), statistics.median(wall["cnncalc"])
        ratio_cpu = statistics.median(cpu["cnncalc"]) / max(statistics.median(cpu["torchinfo"]), 1e-9)
        out.append(f"| {name} | {1000 * ti:.1f} ms | {1000 * cc:.1f} ms | {cc / ti:.2f} | {ratio_cpu:.2f} | <= 1.20 |")
        print(out[-1], flush=True)
    torch.set_num_threads(threads)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median reported)")
    parser.add_argument("--quick", action="store_true", help="3 runs, ResNet-50 only, smaller stacks")
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS.md")
    parser.add_argument("--summary", action="store_true", help="only cnncalc.summary / torchinfo.summary in-process")
    args = parser.parse_args()
    if args.summary:
        print("\n".join(summary_ratios(args.runs)))
        return
    runs = 3 if args.quick else args.runs
    models = ["resnet50"] if args.quick else MODELS
    lines = [f"Machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; median of {runs} runs", ""]

    base, base_mem = measure([PY, "-c", "import warnings; warnings.filterwarnings('ignore'); import torch"], runs)
    lines += [f"`python -c 'import torch'`: {base:.2f} s, {base_mem:.0f} MiB", ""]
    lines += [
        "| model | cnncalc --no-verify | cnncalc verified (cpu) | cnncalc --device meta | torchinfo | torchscan "
        "| verified / torchinfo | meta beyond import vs torchinfo |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in models:
        yaml = f"examples/{name}.yaml"
        nv = measure([*CNNCALC, yaml, "--no-verify"], runs)
        cpu = measure([*CNNCALC, yaml, "--device", "cpu"], runs)
        meta = measure([*CNNCALC, yaml, "--device", "meta"], runs)
        ti = measure([PY, "-c", PEER.format(root=str(ROOT), name=name, body=TORCHINFO)], runs)
        ts = measure([PY, "-c", PEER.format(root=str(ROOT), name=name, body=TORCHSCAN)], runs)
        beyond = (ti[0] - base) / max(meta[0] - base, 1e-3)
        cells = [f"{t:.2f} s / {m:.0f} MiB" for t, m in (nv, cpu, meta, ti, ts)]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {cpu[0] / ti[0]:.2f}x | {beyond:.1f}x faster |")
        print(lines[-1], flush=True)

    lines += targets(runs, base)
    lines += summary_ratios(runs)
    lines += ["", "Scaling, `--no-verify` on synthetic conv/ReLU stacks:", "", "| layers | time | per layer |",
              "|---|---|---|"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for n in (100, 1000) if args.quick else (100, 1000, 10000):
            path = Path(tmp) / f"stack{n}.yaml"
            stack(n, path)
            t, _ = measure([*CNNCALC, str(path), "--no-verify", "--format", "json"], max(1, runs // 2))
            lines.append(f"| {n} | {t:.2f} s | {1000 * t / n:.2f} ms |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        (ROOT / "benchmarks" / "RESULTS.md").write_text("# Benchmark results\n\n" + text)


if __name__ == "__main__":
    main()
