#!/usr/bin/env python3
"""Merges the GPU benchmark's results into one table and checks the issue-4 targets.

  python3 bench/gpu/report.py --bench bench.json --torch torch.json [--native native.json|log]
                              --out DIR

Inputs (any may be missing; what is missing shows as '-', and a target that needs it is SKIP):
  bench.json   bench/gpu/bench.mjs: our rows (median_us per workload/dtype/layout), hostOverhead.
  torch.json   bench/gpu/torch_reference.py --bench: eager/compile rows, torch bandwidth probes,
               the check of the baseline against our outputs.
  native       the lab harness (bench/lab, otca_lab_harness): JSON, or text; its bandwidth probes
               are looked for under keys (or on lines) naming 'copy' and 'read' with GB/s.
The floor of a row is its latent bytes over the measured READ bandwidth (the native harness's
read-only probe, else torch's). Writes DIR/report.md and DIR/report.json; prints the table and
one PASS/MISS/SKIP line per target.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys


def load_json(path):
    if not path or not os.path.exists(path):
        return None
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------ native harness probes


def _walk(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, path + (str(k).lower(),))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, path + (str(i),))
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield path, float(obj)


def _bw_key(path):
    key = "/".join(path)
    return any(u in key for u in ("gbps", "gb_s", "gb/s", "bandwidth"))


def native_probes(path):
    """{'copy_GBps', 'read_GBps', 'source'} from the native harness's JSON or text output."""
    if not path or not os.path.exists(path):
        return {}
    with open(path, errors="replace") as fh:
        text = fh.read()
    found = {}
    docs = []
    try:
        docs.append(json.loads(text))
    except ValueError:
        for line in text.splitlines():  # JSON lines, or one JSON object among text
            line = line.strip()
            if line.startswith("{") and line.endswith("}"):
                try:
                    docs.append(json.loads(line))
                except ValueError:
                    pass
    for doc in docs:
        for p, v in _walk(doc):
            if not _bw_key(p):
                continue
            key = "/".join(p)
            if "copy" in key and "copy_GBps" not in found:
                found["copy_GBps"] = v
            elif ("read" in key or "reduc" in key) and "read_GBps" not in found:
                found["read_GBps"] = v
    if not found:  # text: "... copy ... 3012.4 GB/s" / "... read ... 3210 GB/s"
        # one line may name both ("d2d copy 2950 GB/s (read+write), read-only probe 3100 GB/s"):
        # label each figure by the words just before it
        for line in text.splitlines():
            for m in re.finditer(r"([0-9]+(?:\.[0-9]+)?)\s*GB/s", line):
                low = line[max(0, m.start() - 24):m.start()].lower()
                if "copy" in low and "copy_GBps" not in found:
                    found["copy_GBps"] = float(m.group(1))
                elif ("read" in low or "reduc" in low) and "read_GBps" not in found:
                    found["read_GBps"] = float(m.group(1))
    if found:
        found["source"] = os.path.basename(path)
    return found


# ------------------------------------------------------------------ table


def fmt(x, spec=".1f"):
    return "-" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench")
    ap.add_argument("--torch")
    ap.add_argument("--native")
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    args = ap.parse_args()

    ours = load_json(args.bench) or {}
    tor = load_json(args.torch) or {}
    nat = native_probes(args.native)
    tprobe = tor.get("probes") or {}

    read_bw = nat.get("read_GBps") or tprobe.get("read_GBps")
    read_src = ("native harness" if nat.get("read_GBps") else "torch.sum") if read_bw else None
    copy_bw = nat.get("copy_GBps") or tprobe.get("copy_GBps")

    trows = {(r["workload"], r["dtype"], r["layout"]): r for r in tor.get("rows", [])}
    rows = []
    for r in ours.get("rows", []):
        key = (r["workload"], r["dtype"], r["layout"])
        t = trows.get(key, {})
        floor = r["bytes"] / (read_bw * 1e9) * 1e6 if read_bw else None
        ours_us = r["median_us"]
        eager = t.get("eager_us")
        comp = t.get("compile_us")
        rows.append({
            "workload": r["workload"], "dtype": r["dtype"], "layout": r["layout"],
            "bytes": r["bytes"], "floor_us": floor, "ours_us": ours_us, "eager_us": eager,
            "compile_us": comp, "compile_error": t.get("compile_error"),
            "pct_floor": 100.0 * floor / ours_us if floor else None,
            "x_eager": eager / ours_us if eager else None,
            "x_compile": comp / ours_us if comp else None,
        })

    head = ("| workload | dtype | layout | MB | floor us | ours us | eager us | compile us "
            "| ours % of floor | x eager | x compile |")
    sep = "|" + "---|" * 11
    lines = [head, sep]
    for x in rows:
        lines.append(
            f"| {x['workload']} | {x['dtype']} | {x['layout']} | {x['bytes'] / 1e6:.1f} "
            f"| {fmt(x['floor_us'])} | {fmt(x['ours_us'])} | {fmt(x['eager_us'])} "
            f"| {fmt(x['compile_us']) if not x['compile_error'] or x['compile_us'] else 'fail'} "
            f"| {fmt(x['pct_floor'], '.0f')} | {fmt(x['x_eager'], '.1f')} | {fmt(x['x_compile'], '.1f')} |")
    table = "\n".join(lines)

    # ---------------------------------------------------------------- targets
    targets = []

    def target(name, sel, test, need):
        picked = [x for x in rows if sel(x)]
        if not picked or any(x[need] is None for x in picked):
            targets.append({"target": name, "result": "SKIP", "detail": f"no data ({need})"})
            return
        bad = [x for x in picked if not test(x)]
        detail = "; ".join(f"{x['workload']}/{x['dtype']}/{x['layout']}" for x in bad) or "all rows"
        targets.append({"target": name, "result": "MISS" if bad else "PASS",
                        "detail": ("missed: " if bad else "") + detail})

    target(">= 90% of read bandwidth at FLUX-1024 and Wan",
           lambda x: x["workload"] in ("FLUX-1024", "Wan"), lambda x: x["pct_floor"] >= 90.0, "floor_us")
    target("FLUX-512 bf16 within 2x floor + 5 us",
           lambda x: x["workload"] == "FLUX-512" and x["dtype"] == "bfloat16",
           lambda x: x["ours_us"] <= 2 * x["floor_us"] + 5.0, "floor_us")
    target(">= 10x over PyTorch eager at FLUX-512",
           lambda x: x["workload"] == "FLUX-512", lambda x: x["x_eager"] >= 10.0, "x_eager")
    target(">= 3x over PyTorch eager at Wan",
           lambda x: x["workload"] == "Wan", lambda x: x["x_eager"] >= 3.0, "x_eager")
    ho = (ours.get("hostOverhead") or {}).get("median_us")
    if ho is None:
        targets.append({"target": "host overhead per call <= 10 us", "result": "SKIP", "detail": "no data"})
    else:
        targets.append({"target": "host overhead per call <= 10 us",
                        "result": "PASS" if ho <= 10.0 else "MISS", "detail": f"{ho:.2f} us"})
    checks = tor.get("checks")
    if checks is None:
        targets.append({"target": "PyTorch baseline matches ours (1e-4 rel)", "result": "SKIP",
                        "detail": "no check ran"})
    else:
        bad = [c["case"] for c in checks if not c["pass"]]
        worst = max((c["advantages_rel"] for c in checks), default=0.0)
        targets.append({"target": "PyTorch baseline matches ours (1e-4 rel)",
                        "result": "MISS" if bad else "PASS",
                        "detail": (f"failed: {', '.join(bad)}; " if bad else "") + f"worst {worst:.2e}"})

    env = [
        f"- device: {tor.get('device') or ours.get('device') or '-'}; torch {tor.get('torch', '-')}; "
        f"node {ours.get('node', '-')}; date {ours.get('date', '-')}",
        f"- read bandwidth (floor): {fmt(read_bw, '.0f')} GB/s from {read_src or '-'}; "
        f"device-to-device copy (read+write): {fmt(copy_bw, '.0f')} GB/s"
        + (f"; torch probes: copy {fmt(tprobe.get('copy_GBps'), '.0f')}, read {fmt(tprobe.get('read_GBps'), '.0f')} GB/s"
           if tprobe and nat else ""),
        f"- host overhead per call (N=2, T=1, D=8): {fmt(ho, '.2f')} us",
    ]
    split = (ours.get("hostOverhead") or {}).get("split") or []
    if split:
        env.append("- host overhead split (median us; api = the one-shot call, plan = an AdvantageStep run with "
                   "its output reused, cpu = the one-shot call on the CPU backend): " + "; ".join(
                       f"{r['case']} {r['path']} {r['median_us']:.2f}" for r in split))
    tlines = [f"- {t['result']}: {t['target']} ({t['detail']})" for t in targets]
    md = "# GPU benchmark\n\n" + "\n".join(env) + "\n\n" + table + "\n\n## Targets\n\n" + "\n".join(tlines) + "\n"
    errs = [f"- {x['workload']}/{x['dtype']}/{x['layout']}: {x['compile_error']}" for x in rows if x["compile_error"]]
    if errs:
        md += "\n## torch.compile notes\n\n" + "\n".join(errs) + "\n"

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "report.md"), "w") as fh:
        fh.write(md)
    with open(os.path.join(args.out, "report.json"), "w") as fh:
        json.dump({"read_GBps": read_bw, "read_source": read_src, "copy_GBps": copy_bw,
                   "native_probes": nat, "torch_probes": tprobe, "host_overhead_us": ho,
                   "rows": rows, "targets": targets, "checks": checks}, fh, indent=1)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
