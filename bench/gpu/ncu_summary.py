#!/usr/bin/env python3
"""Why the advantage kernel's tail is slow, from the ncu step of scripts/gpu-check.sh.

Reads what that step leaves in its logs folder (each file optional; what is missing is said):
  ncu.log          the harness under ncu (otca_lab_harness --profile): its "profile-case" lines give the
                   order of the profiled launches, so ncu's launch IDs map to cases;
  ncu-raw.csv      ncu -i REP --page raw --csv: one row per launch (duration, warp-state ratios);
  ncu-details.log  ncu -i REP --page details --print-details all (durations when the raw page is absent);
  ncu-sass.csv     ncu -i REP --page source --csv --print-source sass: the stall samples of every SASS
                   instruction, a 'Kernel Name' row per launch;
  ncu-source.csv   ... --print-source cuda,sass: the file:line of every instruction (by address), and
                   the samples too when the sass page is missing;
  ncu-linemap.txt  nvdisasm -g of the harness's cubins: file:line by offset, when neither page has it.
Prints per case: duration, the kernel's warp-stall reasons, then from the stall samples of every
SASS instruction: the top instructions and source lines, the samples per stage (source file), and
one "ncu-verdict" line per case (the tail's share of the instruction-cache, memory, barrier and
fence stalls) at the end.

  python3 bench/gpu/ncu_summary.py --logs /tmp/gpu-check-work/logs [--top-instructions 25] [--top-lines 20]
"""

import argparse
import csv
import os
import re
import statistics
import sys

csv.field_size_limit(1 << 30)

# Canonical stall reasons; a column's name is reduced to one of these (see reason_of).
REASONS = {
    "no_instruction": ("no_instruction", "no_inst", "noinst"),
    "long_scoreboard": ("long_scoreboard", "long_sb", "lg_scoreboard"),
    "short_scoreboard": ("short_scoreboard", "short_sb"),
    "barrier": ("barrier", "bar"),
    "membar": ("membar", "mem_bar"),
    "wait": ("wait",),
    "math_pipe_throttle": ("math_pipe_throttle", "math_pipe", "math"),
    "mio_throttle": ("mio_throttle", "mio"),
    "lg_throttle": ("lg_throttle", "lg"),
    "tex_throttle": ("tex_throttle", "tex"),
    "imc_miss": ("imc_miss", "imc"),
    "branch_resolving": ("branch_resolving", "branch"),
    "dispatch_stall": ("dispatch_stall", "dispatch"),
    "drain": ("drain",),
    "sleeping": ("sleeping", "sleep"),
    "misc": ("misc",),
    "not_selected": ("not_selected",),
    "selected": ("selected",),
    "tmem": ("tmem",),
}
ALIAS = {alias: canon for canon, aliases in REASONS.items() for alias in aliases}
# The two hypotheses (instruction fetch; fence and memory hand-offs: bench/NOTES.md sections 4-5)
# and the other reasons worth a column.
KEY_REASONS = ["no_instruction", "long_scoreboard", "barrier", "membar", "wait", "math_pipe_throttle",
               "imc_miss", "short_scoreboard", "branch_resolving"]
SHORT = {"no_instruction": "no_inst", "long_scoreboard": "long_sb", "short_scoreboard": "short_sb",
         "math_pipe_throttle": "math", "branch_resolving": "branch", "lg_throttle": "lg_thr",
         "mio_throttle": "mio_thr", "dispatch_stall": "dispatch", "not_selected": "not_sel",
         "imc_miss": "imc_miss", "tex_throttle": "tex_thr"}

# Stages by source file; advantage_step.cu(h) is split further by the function a line is in.
STAGE_OF_FILE = {
    "cosine_partials.cuh": "stream (cosine_partials.cuh)",
    "finish_sample.cuh": "sample finish (finish_sample.cuh)",
    "finish_group.cuh": "group finish (finish_group.cuh)",
    "otca_math.h": "math (otca_math.h)",
}
TAIL_FILES = {"finish_sample.cuh", "finish_group.cuh", "otca_math.h", "advantage_step.cu", "advantage_step.cuh"}


def norm(name):
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def reason_of(column):
    """(canonical reason, not_issued) for a stall-reason column, else None."""
    n = norm(column)
    if "sampling" in n or ("sample" in n and "stall" not in n):
        return None
    if "issue_stalled_" in n:
        core = n.split("issue_stalled_", 1)[1]
    elif n.startswith("stall_"):
        core = n[len("stall_"):]
    else:
        return None
    for suffix in (".ratio", ".sum", ".pct", ".avg", "_per_issue_active", "_per_warp_active"):
        if core.endswith(suffix):
            core = core[: -len(suffix)]
    not_issued = "not_issued" in core
    core = re.sub(r"[_(]*not_issued\)?", "", core).strip("_()")
    canon = ALIAS.get(core)
    if canon is None:
        return (core, not_issued)  # an unknown reason still counts, under its own name
    return (canon, not_issued)


def number(text):
    t = (text or "").strip().strip('"')
    if t in ("", "-", "n/a", "N/A", "nan"):
        return 0.0
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", t):
        t = t.replace(",", "")
    try:
        return float(t)
    except ValueError:
        return 0.0


def read_rows(path):
    """CSV rows of a file, skipping ncu's own ==PROF== / ==WARNING== lines."""
    with open(path, newline="", errors="replace") as f:
        lines = [ln for ln in f if not ln.startswith("==")]
    return list(csv.reader(lines))


# ------------------------------------------------------------------ cases (harness output)

def read_cases(path):
    """[(case name, launches, description)] in launch order."""
    cases = []
    if not path or not os.path.exists(path):
        return cases
    with open(path, errors="replace") as f:
        for line in f:
            m = re.search(r"^profile-case name=(\S+) launches=(\d+)(.*)$", line.strip())
            if m:
                cases.append((m.group(1), int(m.group(2)), m.group(3).strip()))
    return cases


def case_names(cases, count):
    names = [name for name, n, _ in cases for _ in range(n)]
    if len(names) < count:
        names += ["launch %d (no case line)" % k for k in range(len(names), count)]
    return names[:count]


# ------------------------------------------------------------------ per-launch metrics

def read_raw(path):
    """[{column: value}] per launch from ncu --page raw --csv (wide: one row per launch), sorted by ID.
    A long table (one row per metric: 'Metric Name', 'Metric Value') is pivoted."""
    rows = read_rows(path)
    header = None
    out = []
    for r in rows:
        if not r:
            continue
        if header is None:
            if "ID" in r and "Kernel Name" in r:
                header = r
            continue
        rec = dict(zip(header, r))
        if not rec.get("ID", "").strip().isdigit():
            continue  # the units row
        out.append(rec)
    if header and "Metric Name" in header and "Metric Value" in header:
        by_id = {}
        for rec in out:
            d = by_id.setdefault(rec["ID"], {k: rec.get(k, "") for k in ("ID", "Kernel Name", "Grid Size", "Block Size")})
            d[rec["Metric Name"]] = rec["Metric Value"]
            unit = rec.get("Metric Unit", "")
            if unit:
                d["unit:" + rec["Metric Name"]] = unit
        out = list(by_id.values())
    out.sort(key=lambda d: int(d["ID"]))
    return out, header


def duration_us(rec):
    for key in ("gpu__time_duration.sum", "gpu__time_duration"):
        if key in rec and rec[key].strip():
            v = number(rec[key])
            unit = rec.get("unit:" + key, "nsecond").lower()
            return v / 1e3 if unit.startswith("n") else v / 1e6 if unit.startswith("p") else v if unit.startswith("u") else v * 1e3
    for key, value in rec.items():
        if norm(key) == "duration":
            return number(value)
    return None


def read_details(path):
    """[(kernel header, duration us)] in order from the details page's text."""
    out = []
    if not path or not os.path.exists(path):
        return out
    scale = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0, "ms": 1e3, "msecond": 1e3, "s": 1e6, "second": 1e6}
    with open(path, errors="replace") as f:
        for line in f:
            if re.match(r"^\s{0,4}\S.*\(\d+, \d+, \d+\)x\(\d+, \d+, \d+\)", line):
                out.append([line.strip(), None])
                continue
            m = re.match(r"^\s+Duration\s+(\S+)\s+([\d.,]+)\s*$", line)
            if m and out and out[-1][1] is None:
                out[-1][1] = number(m.group(2)) * scale.get(m.group(1).lower(), 1.0)
    return out


# ------------------------------------------------------------------ source page

def is_address(text):
    return bool(re.fullmatch(r"(0x)?[0-9a-fA-F]{4,}", (text or "").strip()))


def read_source(path):
    """Instances (one per profiled launch, in order) from ncu --page source --csv, either view:
    --print-source sass      'Kernel Name' row, a header starting 'Address', a row per instruction;
    --print-source cuda,sass 'File Path' / 'Function Name' rows, a header with 'Line No' and two
    'Source' columns (CUDA text, SASS text); a CUDA line's row (its instructions' sums, not added
    again) is followed by its instructions' rows.
    A new instance starts at a 'Kernel Name' row or when an address repeats (same code, next launch).
    Returns (instances, header, notes); an instance is {kernel, rows: [{addr, sass, file, line, cols}]}."""
    rows = read_rows(path)
    instances, notes = [], []
    header = None
    idx = {}
    kernel = func = file_path = ""
    line_no = None
    cur = None

    def start(name):
        inst = {"kernel": name, "rows": [], "seen": set()}
        instances.append(inst)
        return inst

    for r in rows:
        if not r or not any(c.strip() for c in r):
            continue
        first = r[0].strip()
        if first == "Kernel Name" and len(r) > 1:
            kernel = r[1]
            cur = start(kernel)
            continue
        if first == "File Path" and len(r) > 1:
            file_path = r[1]
            continue
        if first == "Function Name" and len(r) > 1:
            func = r[1]
            continue
        cells = [c.strip() for c in r]
        if ("Address" in cells or "Line No" in cells or "Line" in cells) and "Source" in cells:
            header = cells
            src = [k for k, c in enumerate(cells) if c == "Source"]
            idx = {"addr": cells.index("Address") if "Address" in cells else None,
                   "line": cells.index("Line No") if "Line No" in cells else (cells.index("Line") if "Line" in cells else None),
                   "cuda": src[0] if len(src) > 1 else None,
                   "sass": src[-1] if src else None}
            continue
        if header is None:
            continue
        get = lambda k: r[idx[k]].strip() if idx.get(k) is not None and idx[k] < len(r) else ""
        addr = get("addr")
        if not is_address(addr):
            ln = get("line")
            if ln.isdigit():
                line_no = int(ln)
            elif addr == "...":
                notes.append("the listing has elided ('...') parts")
            continue
        a = int(addr, 16)
        if cur is None or a in cur["seen"]:
            cur = start(kernel or func)
        cur["seen"].add(a)
        cols = {}
        for k, name in enumerate(header):
            if k in (idx["addr"], idx["line"], idx["cuda"], idx["sass"]) or k >= len(r):
                continue
            cols[name] = r[k]
        ln = get("line")
        cur["rows"].append({"addr": a, "sass": get("sass"), "file": file_path if idx["line"] is not None else "",
                            "line": int(ln) if ln.isdigit() else (line_no if idx["line"] is not None else None),
                            "cols": cols})
    for inst in instances:
        base = min((x["addr"] for x in inst["rows"]), default=0)
        for x in inst["rows"]:
            x["off"] = x["addr"] - base
        inst.pop("seen", None)
    return [i for i in instances if i["rows"]], header, notes


def opcode(sass):
    parts = re.sub(r"^@!?\w+\s+", "", (sass or "").strip()).split()
    return parts[0].split(".")[0] if parts else ""


def read_linemap(path):
    """{function (mangled): {offset: (file, line, opcode)}} from nvdisasm -g output."""
    funcs = {}
    if not path or not os.path.exists(path):
        return funcs
    cur, loc = None, None
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^\s*(?:\.section\s+)?\.text\.([A-Za-z_$][\w$.]*)[:,\s]", line) or re.search(r"Function : (\S+)", line)
            if m:
                cur = funcs.setdefault(m.group(1), {})
                loc = None
                continue
            m = re.search(r'//## File "([^"]+)", line (\d+)', line)
            if m:
                loc = (m.group(1), int(m.group(2)))
                continue
            m = re.search(r"/\*([0-9a-fA-F]{4,})\*/\s*(.*)$", line)
            if m and cur is not None and loc is not None:
                cur[int(m.group(1), 16)] = loc + (opcode(m.group(2)),)
    return funcs


def linemap_for(kernel, funcs):
    """The nvdisasm function of a demangled kernel name: advantage_step<T, V> by its dtype and variant."""
    m = re.search(r"(\w+)<(?:[\w:]*::)?(\w+), (\d+)>", kernel or "")
    if not m:
        return None
    name, dtype, variant = m.groups()
    token = {"float": name + "If", "Bf16": "4Bf16E", "F16": "3F16E"}.get(dtype, dtype)
    for mangled, table in funcs.items():
        if name in mangled and token in mangled and ("Li%sE" % variant) in mangled:
            return table
    return None


# ------------------------------------------------------------------ source files (labels)

_files = {}


def source_lines(path, root):
    base = os.path.basename(path)
    if base not in _files:
        text = None
        for cand in (path, os.path.join(root, path), os.path.join(root, "csrc", "core", base),
                     os.path.join(root, "test", "native", base)):
            if cand and os.path.isfile(cand):
                with open(cand, errors="replace") as f:
                    text = f.read().split("\n")
                break
        _files[base] = text
    return _files[base]


_DEF = re.compile(r"^\s{0,4}(?:template\s*<.*>\s*)?(?:(?:__\w+__|inline|static|constexpr|[\w:<>]+)[\s*&]+)*(\w+)\s*\([^;]*$")
_NOT_FUNCS = {"if", "for", "while", "switch", "return", "sizeof", "catch", "__launch_bounds__", "defined"}


def enclosing_function(path, line, root):
    lines = source_lines(path, root)
    if not lines or not line:
        return ""
    for k in range(min(line, len(lines)) - 1, -1, -1):
        m = _DEF.match(lines[k])
        if m and m.group(1) not in _NOT_FUNCS and not lines[k].lstrip().startswith(("//", "#", "return", "}")):
            return m.group(1)
    return ""


def line_text(path, line, root):
    lines = source_lines(path, root)
    if not lines or not line or line > len(lines):
        return ""
    return lines[line - 1].strip()


def stage_of(path, line, root):
    base = os.path.basename(path) if path else ""
    if not base:
        return "(no line info)"
    if base in STAGE_OF_FILE:
        return STAGE_OF_FILE[base]
    if base.startswith("advantage_step.cu"):
        fn = enclosing_function(path, line, root)
        return "%s: %s" % (base, fn or "?")
    return "other: " + base


# ------------------------------------------------------------------ aggregation

class Columns:
    """Which source-page columns are the total samples and the per-reason samples."""

    def __init__(self, header):
        self.total = None
        self.not_issued_total = None
        self.reasons = {}  # column -> canonical reason (all samples, not the not-issued ones)
        for col in header or []:
            n = norm(col)
            if self.total is None and ("warp_stall_sampling_(all" in n or n in ("#_samples", "samples", "smsp__pcsamp_sample_count")):
                self.total = col
            elif self.not_issued_total is None and "warp_stall_sampling_(not" in n:
                self.not_issued_total = col
            else:
                r = reason_of(col)
                if r and not r[1] and r[0] not in self.reasons.values():  # one column per reason
                    self.reasons[col] = r[0]


def aggregate(instances, cols, root, addr_lines, linemap):
    """Per instruction (by offset): samples, reasons, file:line, SASS; summed over the instances.
    file:line: the page's own, else the cuda,sass page's at the same address, else nvdisasm's at
    the same offset from the function's start."""
    by_off = {}
    from_page = from_map = checked = agree = 0
    for inst in instances:
        table = linemap_for(inst["kernel"], linemap) if linemap else None
        for x in inst["rows"]:
            path, line = x["file"], x["line"]
            if not path and x["addr"] in addr_lines:
                path, line = addr_lines[x["addr"]]
                from_page += 1
            elif not path and table is not None:
                checked += 1
                if x["off"] in table:
                    path, line, op = table[x["off"]]
                    from_map += 1
                    agree += op == opcode(x["sass"])
            reasons = {}
            for c, v in x["cols"].items():
                if c in cols.reasons:
                    reasons[cols.reasons[c]] = reasons.get(cols.reasons[c], 0.0) + number(v)
            total = number(x["cols"].get(cols.total)) if cols.total else sum(reasons.values())
            e = by_off.setdefault(x["off"], {"off": x["off"], "sass": x["sass"], "file": path, "line": line,
                                             "samples": 0.0, "reasons": {}})
            e["samples"] += total
            for k, v in reasons.items():
                e["reasons"][k] = e["reasons"].get(k, 0.0) + v
    rows = sorted(by_off.values(), key=lambda e: e["off"])
    for e in rows:
        e["stage"] = stage_of(e["file"], e["line"], root)
    # otca_math.h and CUDA headers are inlined into a stage: count them with the stage before them
    # in address order (a heuristic: code layout mostly follows the source).
    enclosing = "(entry)"
    for e in rows:
        if e["stage"].startswith(("stream", "sample finish", "group finish", "advantage_step.cu")):
            enclosing = e["stage"]
        e["enclosing"] = enclosing
    notes = []
    if from_page:
        notes.append("file:line from the cuda,sass page for %d instructions" % from_page)
    if checked:
        notes.append("file:line from nvdisasm for %d of %d instructions (same opcode at the offset: %d)" % (from_map, checked, agree))
    return rows, "; ".join(notes)


def fmt_reasons(reasons, total, n=3, skip=()):
    items = sorted(((v, k) for k, v in reasons.items() if v > 0 and k not in skip), reverse=True)[:n]
    return " ".join("%s %.0f%%" % (SHORT.get(k, k), 100.0 * v / total) for v, k in items) if total else ""


def table_by(rows, key, title, out):
    groups = {}
    for e in rows:
        g = groups.setdefault(e[key], {"samples": 0.0, "reasons": {}})
        g["samples"] += e["samples"]
        for k, v in e["reasons"].items():
            g["reasons"][k] = g["reasons"].get(k, 0.0) + v
    total = sum(g["samples"] for g in groups.values()) or 1.0
    keys = KEY_REASONS
    out.append(title)
    out.append("  %-44s %8s %6s  %s  | top others" % ("", "samples", "share", " ".join("%8s" % SHORT.get(k, k) for k in keys)))
    for name, g in sorted(groups.items(), key=lambda kv: -kv[1]["samples"]):
        s = g["samples"] or 1.0
        shares = " ".join("%7.0f%%" % (100.0 * g["reasons"].get(k, 0.0) / s) for k in keys)
        out.append("  %-44s %8.0f %5.1f%%  %s  | %s" % (name[:44], g["samples"], 100.0 * g["samples"] / total, shares,
                                                        fmt_reasons(g["reasons"], s, 2, skip=keys)))
    return groups


def summarize_case(name, desc, launches, raw_recs, details, out):
    """The case's header: duration per launch, launch facts, the whole kernel's warp state."""
    out.append("")
    out.append("=" * 100)
    out.append("case %s (%d launches) %s" % (name, launches, desc))
    durs = [d for d in (duration_us(r) for r in raw_recs) if d is not None]
    if not durs:
        durs = [d for _, d in details if d is not None]
    if raw_recs:
        r0 = raw_recs[0]
        out.append("kernel: %s  grid %s block %s  ncu IDs %s" % (r0.get("Kernel Name", "?")[:90], r0.get("Grid Size", "?"),
                                                                 r0.get("Block Size", "?"), ",".join(r.get("ID", "?") for r in raw_recs)))
        extra = []
        for key, label, scale, unit in (("launch__registers_per_thread", "registers/thread", 1, ""),
                                        ("sm__cycles_elapsed.avg.per_second", "SM clock", 1e-9, " GHz"),
                                        ("sm__warps_active.avg.pct_of_peak_sustained_active", "achieved occupancy", 1, "%"),
                                        ("smsp__cycles_active.avg", "SMSP active cycles (avg)", 1, "")):
            if key in r0 and r0[key].strip():
                extra.append("%s %.3g%s" % (label, number(r0[key]) * scale, unit))
        if extra:
            out.append("  " + ", ".join(extra))
    if durs:
        out.append("duration: %s us (median %.2f)" % (" / ".join("%.2f" % d for d in durs), statistics.median(durs)))
    else:
        out.append("duration: not found (no gpu__time_duration.sum in the raw page, no Duration in the details page)")
    # The whole kernel's warp state: WarpStateStats' stalled warps per issued instruction, or else
    # the sampled warps' counts.
    for pattern, what in ((r"issue_stalled_(.+)_per_issue_active\.ratio$", "stalled warps per issued instruction, mean"),
                          (r"^smsp__pcsamp_warps_issue_stalled_(.+)$", "stall samples, sum")):
        per = {}
        for rec in raw_recs:
            for col, value in rec.items():
                m = re.search(pattern, col)
                if m and not m.group(1).endswith("not_issued"):
                    r = ALIAS.get(m.group(1), m.group(1))
                    per[r] = per.get(r, 0.0) + number(value) / (len(raw_recs) if "mean" in what else 1)
        tot = sum(per.values())
        if tot:
            top = sorted(per.items(), key=lambda kv: -kv[1])[:8]
            out.append("warp state, whole kernel (%s over launches; total %.4g):" % (what, tot))
            out.append("  " + ", ".join("%s %.3g (%.0f%%)" % (k, v, 100.0 * v / tot) for k, v in top))
            break
    else:
        if raw_recs:
            out.append("warp state: no '*issue_stalled_*' columns in the raw page")
    return durs


def verdict(name, rows, durs):
    d = "%.2f us" % statistics.median(durs) if durs else "duration ?"
    if not any(e["file"] for e in rows):
        reasons = {}
        for e in rows:
            for k, v in e["reasons"].items():
                reasons[k] = reasons.get(k, 0.0) + v
        return "ncu-verdict %s: %s; no file:line, so no tail: the whole kernel's samples: %s" % (
            name, d, fmt_reasons(reasons, sum(reasons.values()), 6))
    tail = [e for e in rows if os.path.basename(e["file"] or "") in TAIL_FILES]
    all_s = sum(e["samples"] for e in rows) or 1.0
    t_s = sum(e["samples"] for e in tail)
    reasons = {}
    for e in tail:
        for k, v in e["reasons"].items():
            reasons[k] = reasons.get(k, 0.0) + v
    busy = sum(v for k, v in reasons.items() if k != "barrier") or 1.0
    parts = ", ".join("%s %.0f%%" % (SHORT.get(k, k), 100.0 * reasons.get(k, 0.0) / busy)
                      for k in ["no_instruction", "long_scoreboard", "membar", "wait", "math_pipe_throttle",
                                "short_scoreboard", "imc_miss", "branch_resolving", "selected"])
    top = max((k for k in reasons if k != "barrier"), key=lambda k: reasons[k], default="?")
    return ("ncu-verdict %s: %s; tail (finish_sample, finish_group, otca_math, advantage_step.cu*) %.0f%% of %d samples, "
            "barrier %.0f%% of the tail's; the tail without barrier: %s; top %s"
            % (name, d, 100.0 * t_s / all_s, all_s, 100.0 * reasons.get("barrier", 0.0) / (t_s or 1.0), parts, top))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logs", default="/tmp/gpu-check-work/logs")
    ap.add_argument("--run-log")
    ap.add_argument("--raw")
    ap.add_argument("--details")
    ap.add_argument("--source")
    ap.add_argument("--sass")
    ap.add_argument("--linemap")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    ap.add_argument("--top-instructions", type=int, default=25)
    ap.add_argument("--top-lines", type=int, default=20)
    args = ap.parse_args()
    path = lambda given, name: given or os.path.join(args.logs, name)
    run_log, raw_p, det_p = path(args.run_log, "ncu.log"), path(args.raw, "ncu-raw.csv"), path(args.details, "ncu-details.log")
    src_p, sass_p, map_p = path(args.source, "ncu-source.csv"), path(args.sass, "ncu-sass.csv"), path(args.linemap, "ncu-linemap.txt")
    out = []
    missing = [p for p in (run_log, raw_p, det_p, src_p, sass_p, map_p) if not os.path.exists(p)]
    if missing:
        out.append("(absent: %s)" % ", ".join(os.path.basename(p) for p in missing))

    cases = read_cases(run_log)
    if not cases:
        out.append("no 'profile-case' lines in %s: launches are named by their order only" % run_log)
    raw, raw_header = read_raw(raw_p) if os.path.exists(raw_p) else ([], None)
    details = read_details(det_p)

    # Samples from the sass page (a 'Kernel Name' row per launch: the launches cannot run together),
    # file:line from the cuda,sass page by address; the cuda,sass page alone when the other is missing.
    pages = {}
    for p in (sass_p, src_p):
        if os.path.exists(p):
            pages[p] = read_source(p)
            if not pages[p][0]:
                out.append("%s: no SASS instructions parsed; its first lines:" % os.path.basename(p))
                with open(p, errors="replace") as f:
                    out.extend("  " + ln.rstrip()[:200] for ln in f.readlines()[:4])
    used = next((p for p in (sass_p, src_p) if p in pages and pages[p][0]), None)
    instances, header, notes = pages[used] if used else ([], None, [])
    addr_lines = {x["addr"]: (x["file"], x["line"]) for i in pages.get(src_p, ([],))[0] for x in i["rows"] if x["file"]}
    has_lines = addr_lines or any(x["file"] for i in instances for x in i["rows"])
    linemap = read_linemap(map_p) if instances and not has_lines else {}
    cols = Columns(header)
    if used:
        out.append("stall samples from %s (%d launches, %d instructions in the first)%s" % (
            os.path.basename(used), len(instances), len(instances[0]["rows"]), "; " + "; ".join(sorted(set(notes))) if notes else ""))
        if not has_lines and not linemap:
            out.append("  no file:line for any instruction (no cuda,sass page with file paths, no nvdisasm line map)")
        if cols.total is None:
            out.append("  no total-samples column ('Warp Stall Sampling (All Samples)' / '# Samples'): using the sum of the reasons")
        if not cols.reasons:
            out.append("  no per-reason stall columns found; the header was:")
            out.append("  " + ",".join(header or [])[:1500])
        else:
            out.append("  reason columns: " + ", ".join("%s=%s" % (c, r) for c, r in list(cols.reasons.items())[:30]))

    count = max(len(raw), len(instances), len(details), sum(n for _, n, _ in cases))
    names = case_names(cases, count)
    if instances and len(instances) != sum(n for _, n, _ in cases):
        out.append("WARNING: %d launches in the source page, %d in the case lines: mapped in order" % (
            len(instances), sum(n for _, n, _ in cases)))
    order = []
    for n in names:
        if n not in order:
            order.append(n)
    desc = {name: d for name, _, d in cases}
    verdicts, durations = [], {}
    for name in order:
        ids = [k for k, n in enumerate(names) if n == name]
        raw_recs = [raw[k] for k in ids if k < len(raw)]
        det = [details[k] for k in ids if k < len(details)]
        durs = summarize_case(name, desc.get(name, ""), len(ids), raw_recs, det, out)
        durations[name] = durs
        insts = [instances[k] for k in ids if k < len(instances)]
        if not insts:
            out.append("stall samples: none for this case (no source page)")
            continue
        rows, note = aggregate(insts, cols, args.root, addr_lines, linemap)
        total = sum(e["samples"] for e in rows)
        out.append("stall samples (%d launches summed): %d%s" % (len(insts), total, "; " + note if note else ""))
        if not total:
            continue
        table_by(rows, "stage", "by stage (source file of each SASS instruction; reasons as % of the stage's samples):", out)
        table_by(rows, "enclosing", "by enclosing stage (otca_math.h and headers counted with the stage before them in address order):", out)
        out.append("top %d SASS instructions by stall samples:" % args.top_instructions)
        for e in sorted(rows, key=lambda e: -e["samples"])[: args.top_instructions]:
            where = "%s:%s" % (os.path.basename(e["file"]), e["line"]) if e["file"] else "?"
            out.append("  %+6x %7.0f %5.1f%%  %-24s %-34s | %s" % (e["off"], e["samples"], 100.0 * e["samples"] / total,
                                                                 where[:24], fmt_reasons(e["reasons"], e["samples"] or 1.0)[:34],
                                                                 e["sass"][:60]))
        out.append("top %d source lines by stall samples:" % args.top_lines)
        lines = {}
        for e in rows:
            if not e["file"]:
                continue
            g = lines.setdefault((e["file"], e["line"]), {"samples": 0.0, "reasons": {}, "n": 0})
            g["samples"] += e["samples"]
            g["n"] += 1
            for k, v in e["reasons"].items():
                g["reasons"][k] = g["reasons"].get(k, 0.0) + v
        for (f, ln), g in sorted(lines.items(), key=lambda kv: -kv[1]["samples"])[: args.top_lines]:
            fn = enclosing_function(f, ln, args.root)
            where = "%s:%s%s" % (os.path.basename(f), ln, " (%s)" % fn if fn else "")
            out.append("  %-48s %7.0f %5.1f%% %3d instr  %-34s | %s" % (where[:48], g["samples"], 100.0 * g["samples"] / total,
                                                                       g["n"], fmt_reasons(g["reasons"], g["samples"] or 1.0)[:34],
                                                                       line_text(f, ln, args.root)[:70]))
        verdicts.append(verdict(name, rows, durs))

    out.append("")
    for full, base, what in (("flux512-bf16", "flux512-bf16-traj", "the group finish and its hand-off"),
                             ("tiny3", "tiny", "G=2, K=3 against G=1, K=1")):
        if durations.get(full) and durations.get(base):
            out.append("ncu-verdict %s - %s: %+.2f us (%s; medians under ncu)" % (
                full, base, statistics.median(durations[full]) - statistics.median(durations[base]), what))
    out.extend(verdicts)
    if not verdicts:
        out.append("ncu-verdict: no stall samples parsed (see above for what was missing)")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
