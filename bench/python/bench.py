#!/usr/bin/env python3
"""The Python front end's benchmark (`npm run bench:python`, or `python bench/python/bench.py`):

1. host time of ``AdvantageStep.run`` on the tiny case (N 2, T 1, D 8, K 3, numpy), beside the bare
   ctypes call of the core it makes (so the Python layer's own share shows); target <= 10 us;
2. FLUX-512 (N 12, G 12, T 16, D 65,536, K 3), float32 and bfloat16 torch CPU tensors, from Python
   against the Node package's ``step.run`` in the same run (bench/python/node_time.mjs); target: within 10%;
3. the same step written in PyTorch (bench/gpu/torch_reference.py's torch path, eager and
   torch.compile) on the CPU, FLUX-512 and 8 groups of it (N 96): the ratio.
With ``--cuda`` (the device machine): 2 and 3 on CUDA tensors (CUDA events), no Node.
Medians over repeats (the machine may be shared: say so). ``--record`` appends the table to
bench/RESULTS.md with the machine and date; ``--json FILE`` writes the numbers; ``--quick``: fewer
repeats and no 8-group workload (the dry run)."""

from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if os.environ.get("OTCA_BENCH_INSTALLED") != "1":
    sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench" / "gpu"))

import otca  # noqa: E402
from otca import _native as n  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu} ({os.cpu_count()} cores), Python {platform.python_version()}"


def tiny(reps: int, number: int) -> dict:
    rng = np.random.default_rng(0)
    r = rng.normal(size=(2, 3)).astype(np.float32)
    z = rng.normal(size=(2, 2, 8)).astype(np.float32)
    step = otca.AdvantageStep(device="cpu")
    step.run(r, z, group_size=2)
    per_call = [timeit.timeit(lambda: step.run(r, z, group_size=2), number=number) / number for _ in range(reps)]
    one_shot = [timeit.timeit(lambda: otca.advantages(r, z, group_size=2), number=number) / number for _ in range(reps)]
    # the bare core call the step makes (structs filled once): what the Python layer adds is the rest
    s = step._structs()  # noqa: SLF001 - the benchmark looks inside on purpose
    out = np.empty((2, 1), np.float32)
    step.run(r, z, group_size=2)
    s.outputs.data[n.OUTPUT_INDEX["advantages"]] = out.ctypes.data
    lib, plan = n.library(), step._host_plan  # noqa: SLF001
    keep = (r, z)
    bare = [timeit.timeit(lambda: lib.otca_run(plan, 0, s.latents_p, s.rewards_p, None, s.groups_p, s.outputs_p), number=number) / number
            for _ in range(reps)]
    del keep
    return {"step_run_us": statistics.median(per_call) * 1e6, "advantages_us": statistics.median(one_shot) * 1e6,
            "core_call_us": statistics.median(bare) * 1e6}


def flux_inputs(torch, N: int, T: int, D: int, K: int, dtype, device: str):
    g = torch.Generator().manual_seed(1)
    noise, x = torch.randn(N, 1, D, generator=g), torch.randn(N, 1, D, generator=g)
    a = torch.linspace(0, 1, T + 1).view(1, T + 1, 1)
    z = ((1 - a) * noise + a * x + 0.05 * torch.randn(N, T + 1, D, generator=g)).to(dtype).to(device)
    r = torch.randn(N, K, generator=g).to(device)
    return r, z


def median_time(fn, reps: int, sync=None) -> float:
    for _ in range(3):
        fn()
    ts = []
    for _ in range(reps):
        if sync:
            sync()
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def node_median(N, G, T, D, K, dtype, reps) -> float:
    out = subprocess.run(["node", str(ROOT / "bench" / "python" / "node_time.mjs"), *map(str, (N, G, T, D, K)), dtype, str(reps)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["median_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cuda", action="store_true")
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    import torch
    from torch_reference import TorchOps, otca_advantages

    reps = 3 if args.quick else 9
    res: dict = {"machine": machine(), "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                 "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "rows": []}
    device = "cuda" if args.cuda else "cpu"
    sync = torch.cuda.synchronize if args.cuda else None
    if not args.cuda:
        res["tiny"] = tiny(reps, 2000 if args.quick else 20000)
        t = res["tiny"]
        print(f"tiny (N 2, T 1, D 8, K 3, numpy): AdvantageStep.run {t['step_run_us']:.2f} us, otca.advantages "
              f"{t['advantages_us']:.2f} us, the bare core call {t['core_call_us']:.2f} us", flush=True)
    xp = TorchOps(torch)
    workloads = [("FLUX-512", 12, 12, 16, 65536, 3)] + ([] if args.quick else [("FLUX-512 x8 groups", 96, 12, 16, 65536, 3)])
    step = otca.AdvantageStep()
    for name, N, G, T, D, K in workloads:
        for dtype_name in ("float32", "bfloat16"):
            r, z = flux_inputs(torch, N, T, D, K, getattr(torch, dtype_name), device)
            row = {"workload": name, "dtype": dtype_name, "N": N, "T": T, "D": D, "K": K, "device": device}
            time.sleep(0.5)  # torch's own threads (the inputs were just made) park before the timing
            if not args.cuda and N == 12:
                # Python and Node alternate, round by round, so both see the same load; medians of rounds
                rounds = 3 if args.quick else 5
                py_ms, node_ms = [], []
                for _ in range(rounds):
                    py_ms.append(median_time(lambda: step.run(r, z, group_size=G), reps, sync) * 1e3)
                    node_ms.append(node_median(N, G, T, D, K, dtype_name, reps) * 1e3)
                row["otca_python_ms"], row["otca_node_ms"] = statistics.median(py_ms), statistics.median(node_ms)
                row["python_over_node_rounds"] = [p / q for p, q in zip(py_ms, node_ms)]
            else:
                row["otca_python_ms"] = median_time(lambda: step.run(r, z, group_size=G), reps, sync) * 1e3
            row["torch_eager_ms"] = median_time(lambda: otca_advantages(xp, r, z, G), max(3, reps // 2), sync) * 1e3
            if not args.no_compile:
                fn = torch.compile(lambda rr, zz: otca_advantages(xp, rr, zz, G))
                t0 = time.perf_counter()
                fn(r, z)
                row["compile_build_s"] = time.perf_counter() - t0
                row["torch_compile_ms"] = median_time(lambda: fn(r, z), max(3, reps // 2), sync) * 1e3
            res["rows"].append(row)
            line = f"{name:20s} {dtype_name:9s} otca (Python) {row['otca_python_ms']:8.2f} ms"
            if "otca_node_ms" in row:
                line += f"  otca (Node) {row['otca_node_ms']:8.2f} ms  Python/Node {row['otca_python_ms'] / row['otca_node_ms']:.3f}"
            line += f"  torch eager {row['torch_eager_ms']:8.2f} ms ({row['torch_eager_ms'] / row['otca_python_ms']:.1f}x)"
            if "torch_compile_ms" in row:
                line += f"  torch.compile {row['torch_compile_ms']:8.2f} ms ({row['torch_compile_ms'] / row['otca_python_ms']:.1f}x)"
            print(line, flush=True)
            del r, z
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    if args.record:
        record(res)


def record(res: dict) -> None:
    lines = [f"\n## Python front end, {res['date']}: {res['machine']}, torch {res['torch']} ({res['torch_threads']} threads), "
             f"{res['rows'][0]['device'] if res['rows'] else 'cpu'}\n",
             "`npm run bench:python -- --record` (bench/python/bench.py), medians over repeats, in one run. "
             "The machine was shared with other builds and tests while it ran: the ratios are the result, "
             "the absolute times are loaded ones.\n"]
    if "tiny" in res:
        t = res["tiny"]
        lines += ["| tiny case (N 2, T 1, D 8, K 3), numpy | median us |", "|---|---:|",
                  f"| `AdvantageStep.run` | {t['step_run_us']:.2f} |",
                  f"| `otca.advantages` (one-shot, cached step) | {t['advantages_us']:.2f} |",
                  f"| the bare `otca_run` ctypes call inside it | {t['core_call_us']:.2f} |", ""]
    lines += ["| workload | latents | otca from Python ms | otca from Node ms | Python / Node | torch eager ms | eager / otca | torch.compile ms | compile / otca |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in res["rows"]:
        node = row.get("otca_node_ms")
        comp = row.get("torch_compile_ms")
        lines.append(
            f"| {row['workload']} (N {row['N']}) | {row['dtype']} | {row['otca_python_ms']:.2f} | "
            f"{'%.2f' % node if node else '-'} | {'%.3f' % (row['otca_python_ms'] / node) if node else '-'} | "
            f"{row['torch_eager_ms']:.1f} | {row['torch_eager_ms'] / row['otca_python_ms']:.1f}x | "
            f"{'%.1f' % comp if comp else '-'} | {'%.1fx' % (comp / row['otca_python_ms']) if comp else '-'} |")
    with open(ROOT / "bench" / "RESULTS.md", "a") as f:
        f.write("\n".join(lines) + "\n")
    print("bench/RESULTS.md: appended")


if __name__ == "__main__":
    main()
