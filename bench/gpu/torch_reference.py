#!/usr/bin/env python3
"""The OTCA advantage step (docs/algorithm.md, default options) written the way a DanceGRPO / Flow-GRPO user
would write it in PyTorch: vectorised eager code over the stacked latents [N, T+1, D] in float32
(bf16 latents upcast), no Python loop over samples. This is the baseline of bench/gpu/.

The algorithm is written once, in `otca_advantages(xp, ...)`, against a tiny array-module wrapper
(`TorchOps` or `NumpyOps`): the few calls whose spelling differs between torch and numpy (sum/dim,
std/correction, sort/stable, gather) go through it. PyTorch cannot be installed on the development
machine, so the numpy path is tested there against lib/reference.ts (`--selftest`), and the device
runs the torch path, which is the same lines.

Modes:
  --selftest DIR       numpy (float64 and float32) vs the float64 reference cases that
                       bench/gpu/export_reference_case.mjs wrote into DIR. Needs numpy only.
  --check DIR          the chosen backend (--xp torch|numpy) vs OUR outputs on the inputs that
                       bench.mjs wrote into DIR (tolerance 1e-4 relative to max |ours|).
  --bench              times eager PyTorch (and torch.compile) on the bench workloads, plus the
                       bandwidth probes (device-to-device copy; read-only torch.sum over bf16).
  --json FILE          where to write the results (checks, probes, rows) as JSON.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

# ------------------------------------------------------------------ array-module wrappers


class NumpyOps:
    """numpy spelling of the few operations the algorithm needs."""

    name = "numpy"

    def __init__(self, float_dtype=np.float32):
        self.ft = float_dtype

    def asfloat(self, x):  # the user's upcast (bf16 -> fp32); bf16 arrives decoded here
        return np.asarray(x).astype(self.ft, copy=False)

    def stack(self, xs, axis):
        return np.stack(xs, axis=axis)

    def sum(self, x, axis, keepdims=False):
        return np.sum(x, axis=axis, keepdims=keepdims)

    def mean(self, x, axis, keepdims=False):
        return np.mean(x, axis=axis, keepdims=keepdims)

    def std(self, x, axis, correction, keepdims=False):
        return np.std(x, axis=axis, ddof=correction, keepdims=keepdims)

    def amin(self, x, axis):
        return np.min(x, axis=axis)

    def amax(self, x, axis):
        return np.max(x, axis=axis)

    def argmax(self, x, axis):  # first index of the maximum
        return np.argmax(x, axis=axis)

    def clip(self, x, lo, hi):
        return np.clip(x, lo, hi)

    def maximum(self, a, b):
        return np.maximum(a, b)

    def minimum(self, a, b):
        return np.minimum(a, b)

    def where(self, c, a, b):
        return np.where(c, a, b)

    def sqrt(self, x):
        return np.sqrt(x)

    def abs(self, x):
        return np.abs(x)

    def tanh(self, x):
        return np.tanh(x)

    def sort_stable(self, x, axis):  # ascending, ties by index
        idx = np.argsort(x, axis=axis, kind="stable")
        return np.take_along_axis(x, idx, axis=axis), idx

    def gather(self, x, axis, idx):
        return np.take_along_axis(x, idx, axis=axis)

    def arange_like(self, n, like):
        return np.arange(n)

    def to_float(self, mask, like):
        return mask.astype(like.dtype)

    def to_int(self, mask):
        return mask.astype(np.int32)

    def zeros_like(self, x):
        return np.zeros_like(x)


class TorchOps:
    """torch spelling of the same operations (float32 on the tensors' device)."""

    name = "torch"

    def __init__(self, torch_module):
        self.t = torch_module

    def asfloat(self, x):
        return x.float()  # no-op for float32; one upcast copy for bf16/fp16, as a user writes it

    def stack(self, xs, axis):
        return self.t.stack(xs, dim=axis)

    def sum(self, x, axis, keepdims=False):
        return self.t.sum(x, dim=axis, keepdim=keepdims)

    def mean(self, x, axis, keepdims=False):
        return self.t.mean(x, dim=axis, keepdim=keepdims)

    def std(self, x, axis, correction, keepdims=False):
        return self.t.std(x, dim=axis, correction=correction, keepdim=keepdims)

    def amin(self, x, axis):
        return self.t.amin(x, dim=axis)

    def amax(self, x, axis):
        return self.t.amax(x, dim=axis)

    def argmax(self, x, axis):  # documented: the first maximal index
        return self.t.argmax(x, dim=axis)

    def clip(self, x, lo, hi):
        return self.t.clamp(x, min=lo, max=hi)

    def maximum(self, a, b):
        if not self.t.is_tensor(b):
            return self.t.clamp(a, min=b)
        return self.t.maximum(a, b)

    def minimum(self, a, b):
        if not self.t.is_tensor(b):
            return self.t.clamp(a, max=b)
        return self.t.minimum(a, b)

    def where(self, c, a, b):
        return self.t.where(c, a, b)

    def sqrt(self, x):
        return self.t.sqrt(x)

    def abs(self, x):
        return self.t.abs(x)

    def tanh(self, x):
        return self.t.tanh(x)

    def sort_stable(self, x, axis):
        r = self.t.sort(x, dim=axis, stable=True)
        return r.values, r.indices

    def gather(self, x, axis, idx):
        return self.t.gather(x, axis, idx)

    def arange_like(self, n, like):
        return self.t.arange(n, device=like.device)

    def to_float(self, mask, like):
        return mask.to(like.dtype)

    def to_int(self, mask):
        return mask.to(self.t.int32)

    def zeros_like(self, x):
        return self.t.zeros_like(x)


# ------------------------------------------------------------------ the algorithm (docs/algorithm.md, default options)


def otca_advantages(xp, rewards, latents, group_size, *, min_weight=0.5, std_correction=1,
                    adv_clip=5.0, eps_adv=1e-8, eps_tcd=1e-6, eps_moca=1e-6, eps_solver=1e-8,
                    return_all=False):
    """docs/algorithm.md with the default options: temporal 'tcd', weightScale 'mean', objective 'moca', stdScope
    'group', explorationSignal 'absolute'. rewards [N, K]; latents [N, T+1, D] or a list of T+1
    [N, D] (stacked, as a user would). Returns Adv [N, T] (and the intermediates with return_all)."""
    if isinstance(latents, (list, tuple)):
        z = xp.stack(latents, 1)
    else:
        z = latents
    z = xp.asfloat(z)  # [N, T+1, D]
    r = xp.asfloat(rewards)  # [N, K]
    N, T1 = z.shape[0], z.shape[1]
    T = T1 - 1
    K = r.shape[1]
    G = group_size
    B = N // G

    # TCD (eqs. 6-8): cosine of every state with the final one, S = 0 where a norm is 0.
    zT = z[:, T:T1, :]  # [N, 1, D]
    dot = xp.sum(z * zT, -1)  # [N, T+1]
    sq = xp.sum(z * z, -1)  # [N, T+1]
    denom = xp.sqrt(sq) * xp.sqrt(sq[:, T:T1])
    ok = (sq > 0) & (sq[:, T:T1] > 0)
    S = xp.where(ok, dot / xp.where(ok, denom, denom * 0 + 1), dot * 0)
    dS = S[:, 1:] - S[:, :-1]  # [N, T]
    u = xp.maximum(dS, 0.0) + eps_tcd
    wbar = u / xp.sum(u, -1, keepdims=True)
    w = min_weight + (1.0 - min_weight) * T * wbar  # weightScale 'mean'
    q = xp.sum(wbar * dS, -1)  # [N]

    # Eq. 2 per objective: group mean, group std (Bessel), clip.
    rg = r.reshape(B, G, K)
    mean = xp.mean(rg, 1, keepdims=True)
    if G - std_correction > 0:
        std = xp.std(rg, 1, std_correction, keepdims=True)
    else:
        std = xp.zeros_like(mean)  # a group of one: std 0, A = 0
    A = xp.clip((rg - mean) / (std + eps_adv), -adv_clip, adv_clip).reshape(N, K)

    # Eq. 12: e = |q| / (std_g q + eps); eq. 14: lam = max(0, s) / (|s| + eps) * tanh(e).
    qg = q.reshape(B, G)
    if G - std_correction > 0:
        qstd = xp.std(qg, 1, std_correction, keepdims=True)
    else:
        qstd = xp.zeros_like(qg[:, :1])
    e = (xp.abs(qg) / (qstd + eps_moca)).reshape(N)
    s = xp.sum(A, -1)
    lam = xp.maximum(s, 0.0) / (xp.abs(s) + eps_moca) * xp.tanh(e)

    # Algorithm 1, vectorised: sort, find the bracketing pair, gather, interpolate.
    smin = xp.amin(A, -1)
    smax = xp.amax(A, -1)
    kk = xp.arange_like(K, A)[None, :]  # [1, K]

    def onehot(idx):
        return xp.to_float(kk == idx[:, None], A)

    c_equal = onehot(xp.argmax(A, -1))  # step 1: one-hot at the first maximum
    zhat = xp.minimum(xp.maximum(lam * 0.5, smin), smax)
    close = xp.abs(A - zhat[:, None]) < eps_solver
    c_close = onehot(xp.argmax(xp.to_int(close), -1))  # step 2: first k with A_k ~ zhat
    has_close = xp.amax(xp.to_int(close), -1) > 0
    if K > 1:
        vals, order = xp.sort_stable(A, -1)  # step 3
        bracket = (vals[:, :-1] <= zhat[:, None]) & (zhat[:, None] <= vals[:, 1:])  # [N, K-1]
        p = xp.argmax(xp.to_int(bracket), -1)[:, None]  # first bracketing pair
        lo_v = xp.gather(vals, 1, p)[:, 0]
        hi_v = xp.gather(vals, 1, p + 1)[:, 0]
        lo_k = xp.gather(order, 1, p)[:, 0]
        hi_k = xp.gather(order, 1, p + 1)[:, 0]
        gap = hi_v - lo_v
        safe = xp.where(gap > 0, gap, gap * 0 + 1)
        c_lo = xp.where(gap > 0, (hi_v - zhat) / safe, lo_v * 0 + 1)
        c_hi = xp.where(gap > 0, (zhat - lo_v) / safe, lo_v * 0)
        c_pair = c_lo[:, None] * onehot(lo_k) + c_hi[:, None] * onehot(hi_k)
    else:
        c_pair = c_equal
    c = xp.where(has_close[:, None], c_close, c_pair)
    c = xp.where(((smax - smin) < eps_solver)[:, None], c_equal, c)
    f = xp.sum(c * A, -1)  # [N]

    adv = w * f[:, None]  # eq. 15 input, [N, T]
    if not return_all:
        return adv
    return {
        "advantages": adv, "similarity": S, "deltaS": dS, "rawWeights": wbar, "stepWeights": w,
        "trajectoryScore": q, "objectiveAdvantages": A, "exploration": e, "lambda": lam,
        "coefficients": c, "fused": f,
    }


# ------------------------------------------------------------------ case files

# A case directory holds case.json: {"cases": [{name, N, T, D, K, G, dtype, layout, files: {...}}]}
# Every file is raw little-endian: float32 ('f32'), float64 ('f64') or uint16 bit patterns
# ('bf16', 'f16'). latents are [N, T+1, D] (layout only says how OUR side received them).


def bf16_bits_to_f32(u16):
    return (u16.astype(np.uint32) << 16).view(np.float32)


def load_array(path, kind):
    if kind == "f32":
        return np.fromfile(path, dtype="<f4")
    if kind == "f64":
        return np.fromfile(path, dtype="<f8")
    if kind in ("bf16", "f16"):
        return np.fromfile(path, dtype="<u2")
    raise ValueError(f"unknown array kind {kind}")


def decode_latents_numpy(bits, dtype):
    if dtype == "bfloat16":
        return bf16_bits_to_f32(bits)
    if dtype == "float16":
        return bits.view(np.float16).astype(np.float32)
    return bits


def latents_torch(torch, bits, dtype, device):
    """The latents as a user has them on the GPU: a bf16/fp16/fp32 tensor."""
    if dtype == "bfloat16":
        return torch.from_numpy(bits.view(np.int16).copy()).to(device).view(torch.bfloat16)
    if dtype == "float16":
        return torch.from_numpy(bits.view(np.float16).copy()).to(device)
    return torch.from_numpy(bits.copy()).to(device)


def rel_err(got, want):
    got = np.asarray(got, dtype=np.float64).ravel()
    want = np.asarray(want, dtype=np.float64).ravel()
    if got.shape != want.shape:
        return float("inf")
    if not np.all(np.isfinite(got)):
        return float("inf")
    scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-30)
    return float(np.max(np.abs(got - want))) / scale if want.size else 0.0


def load_cases(d):
    with open(os.path.join(d, "case.json")) as fh:
        meta = json.load(fh)
    return meta["cases"]


def case_inputs(d, c):
    files = c["files"]
    lat = load_array(os.path.join(d, files["latents"][0]), files["latents"][1])
    rew = load_array(os.path.join(d, files["rewards"][0]), files["rewards"][1])
    N, T, D, K = c["N"], c["T"], c["D"], c["K"]
    return lat.reshape(N, T + 1, D), rew.reshape(N, K)


# ------------------------------------------------------------------ --selftest (numpy vs reference)


def selftest(d):
    """numpy float64 must match the float64 reference to ~1e-9; numpy float32 (the torch
    arithmetic) to 1e-4 relative, on every output the reference wrote."""
    results = []
    ok_all = True
    for c in load_cases(d):
        bits, rew = case_inputs(d, c)
        z = decode_latents_numpy(bits, c["dtype"])
        for ft, tol in ((np.float64, 1e-9), (np.float32, 1e-4)):
            xp = NumpyOps(ft)
            lat = [z[:, j, :] for j in range(z.shape[1])] if c["layout"] == "list" else z
            with np.errstate(divide="ignore", invalid="ignore"):
                out = otca_advantages(xp, rew.astype(np.float64), lat, c["G"], return_all=True,
                                      **c.get("kwargs", {}))
            errs = {}
            for key, (fname, kind) in c["files"].items():
                if key.startswith("ref_"):
                    errs[key[4:]] = rel_err(out[key[4:]], load_array(os.path.join(d, fname), kind))
            worst_name = max(errs, key=lambda k: errs[k])
            worst = errs[worst_name]
            # float64 must match every field. In float32, exact mathematical ties among the A_k
            # (a group of two gives A = +-1/sqrt(2)) are broken by rounding, so c may differ
            # while f and Adv do not: judge float32 on the advantages and f.
            judged = worst if ft == np.float64 else max(errs["advantages"], errs["fused"])
            ok = judged <= tol and len(errs) == 11
            ok_all &= ok
            results.append({"case": c["name"], "float": np.dtype(ft).name, "fields": errs,
                            "judged_rel": judged, "tol": tol, "pass": ok})
            print(f"selftest {c['name']:<14} numpy {np.dtype(ft).name:<8} {len(errs)} fields, "
                  f"judged rel {judged:.2e}, worst {worst:.2e} ({worst_name}), tol {tol:g}: "
                  f"{'PASS' if ok else 'FAIL'}")
    return ok_all, results


# ------------------------------------------------------------------ --check (baseline vs ours)


def check(d, backend, device):
    """The baseline on the inputs bench.mjs wrote, against OUR outputs there (1e-4 rel)."""
    results = []
    ok_all = True
    torch = None
    if backend == "torch":
        import torch  # noqa: F811
    for c in load_cases(d):
        bits, rew = case_inputs(d, c)
        if backend == "torch":
            xp = TorchOps(torch)
            z = latents_torch(torch, bits, c["dtype"], device)
            r = torch.from_numpy(rew.astype(np.float32)).to(device)
            lat = list(z.unbind(1)) if c["layout"] == "list" else z
            with torch.no_grad():
                out = otca_advantages(xp, r, lat, c["G"], return_all=True)
            torch.cuda.synchronize()
            out = {k: v.detach().cpu().numpy() for k, v in out.items()}
        else:
            xp = NumpyOps(np.float32)
            z = decode_latents_numpy(bits, c["dtype"])
            lat = [z[:, j, :] for j in range(z.shape[1])] if c["layout"] == "list" else z
            with np.errstate(divide="ignore", invalid="ignore"):
                out = otca_advantages(xp, rew.astype(np.float32), lat, c["G"], return_all=True)
        fields = {}
        for key, (fname, kind) in c["files"].items():
            if key.startswith("ours_"):
                fields[key[5:]] = rel_err(out[key[5:]], load_array(os.path.join(d, fname), kind))
        adv_err = fields.get("advantages", float("inf"))
        ok = adv_err <= 1e-4
        ok_all &= ok
        results.append({"case": c["name"], "backend": backend, "dtype": c["dtype"],
                        "layout": c["layout"], "advantages_rel": adv_err, "fields_rel": fields,
                        "tol": 1e-4, "pass": ok})
        detail = " ".join(f"{k}={v:.1e}" for k, v in fields.items() if k != "advantages")
        print(f"check {c['name']:<28} {backend} vs ours: advantages rel {adv_err:.3e} "
              f"(tol 1e-4) {'PASS' if ok else 'FAIL'}  [{detail}]")
    return ok_all, results


# ------------------------------------------------------------------ --bench (torch on the GPU)

WORKLOADS = [
    # name, N, G, T, D
    ("FLUX-512", 12, 12, 16, 65536),
    ("FLUX-1024", 12, 12, 16, 262144),
    ("Wan", 32, 32, 16, 349440),
    ("FLUX-512 x8 groups", 96, 12, 16, 65536),
]
K_OBJECTIVES = 3
L2_ROTATE_BYTES = 200 << 20  # rotate input sets until this many bytes are live (L2 is 50 MB)


def events_median_us(torch, fn, sets, warmup, reps):
    for i in range(warmup):
        fn(sets[i % len(sets)])
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
    for i in range(reps):
        starts[i].record()
        fn(sets[i % len(sets)])
        ends[i].record()
    torch.cuda.synchronize()
    ts = sorted(s.elapsed_time(e) * 1e3 for s, e in zip(starts, ends))
    return ts[len(ts) // 2], ts[len(ts) // 10], ts[(len(ts) * 9) // 10]


def make_latents_torch(torch, N, T, D, dtype, gen):
    """A flow-like trajectory, as bench.mjs makes: z_j = (1 - s_j) noise + s_j x + small noise."""
    dev = "cuda"
    x = torch.randn(N, 1, D, device=dev, generator=gen)
    noise = torch.randn(N, 1, D, device=dev, generator=gen)
    s = torch.linspace(0, 1, T + 1, device=dev).view(1, T + 1, 1)
    z = torch.empty(N, T + 1, D, device=dev, dtype=dtype)
    for j in range(T + 1):  # per state, to keep the temporary small at Wan size
        sj = s[:, j:j + 1, :]
        zj = (1 - sj) * noise + sj * x + 0.01 * torch.randn(N, 1, D, device=dev, generator=gen)
        z[:, j:j + 1, :] = zj.to(dtype)
    return z


def probes(torch):
    """Device bandwidth: a big device-to-device copy (bytes read + written) and a read-only
    torch.sum over a bf16 buffer much larger than L2, both median of event-timed runs."""
    n_bytes = 2 << 30  # 2 GiB
    src = torch.empty(n_bytes // 2, dtype=torch.bfloat16, device="cuda").normal_()
    dst = torch.empty_like(src)
    med, _, _ = events_median_us(torch, lambda _s: dst.copy_(src), [0], 3, 20)
    copy_gbps = 2 * n_bytes / (med * 1e-6) / 1e9
    med_r, _, _ = events_median_us(torch, lambda _s: torch.sum(src), [0], 3, 20)
    read_gbps = n_bytes / (med_r * 1e-6) / 1e9
    del src, dst
    torch.cuda.empty_cache()
    return {"copy_GBps": copy_gbps, "copy_bytes": 2 * n_bytes, "copy_us": med,
            "read_GBps": read_gbps, "read_bytes": n_bytes, "read_us": med_r,
            "read_method": "torch.sum over 2 GiB bf16", "copy_method": "Tensor.copy_ 2 GiB"}


def bench(args, out, flush):
    """Fills `out` (probes, rows) and calls flush() after each piece, so that a run cut short by
    its timeout still leaves every finished row in the JSON."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    dev_name = torch.cuda.get_device_name(0)
    props = torch.cuda.get_device_properties(0)
    out.update({"torch": torch.__version__, "device": dev_name,
                "multiprocessors": props.multi_processor_count,
                "l2_bytes": getattr(props, "L2_cache_size", None), "rows": []})
    t0 = time.time()
    out["probes"] = probes(torch)
    flush()
    print(f"probe: d2d copy {out['probes']['copy_GBps']:.0f} GB/s (read+write), "
          f"read-only sum {out['probes']['read_GBps']:.0f} GB/s", flush=True)
    xp = TorchOps(torch)
    gen = torch.Generator(device="cuda")
    gen.manual_seed(1234)
    compile_budget = args.compile_budget_s
    compile_spent = 0.0
    compile_set = set(args.compile_workloads.split(",")) if args.compile_workloads else None
    dtypes = {"bfloat16": torch.bfloat16, "float32": torch.float32}
    for (name, N, G, T, D) in WORKLOADS:
        if args.only and name not in args.only.split(","):
            continue
        for dname in ("bfloat16", "float32"):
            dt = dtypes[dname]
            esize = 2 if dname == "bfloat16" else 4
            nbytes = N * (T + 1) * D * esize
            nsets = max(1, min(8, math.ceil(L2_ROTATE_BYTES / nbytes)))
            sets = []
            for _ in range(nsets):
                z = make_latents_torch(torch, N, T, D, dt, gen)
                r = torch.randn(N, K_OBJECTIVES, device="cuda", generator=gen)
                sets.append((r, z))
            for layout in ("tensor", "list"):
                if layout == "list":
                    # The trainer kept T+1 separate [N, D] tensors: make them separate allocations.
                    inputs = [(r, [z[:, j, :].clone() for j in range(T + 1)]) for (r, z) in sets]
                else:
                    inputs = sets
                row = {"workload": name, "N": N, "G": G, "T": T, "D": D, "K": K_OBJECTIVES,
                       "dtype": dname, "layout": layout, "bytes": nbytes, "sets": nsets}

                def eager(s, G=G):
                    with torch.no_grad():
                        return otca_advantages(xp, s[0], s[1], G)

                reps = args.reps if nbytes < (1 << 30) else max(10, args.reps // 3)
                med, p10, p90 = events_median_us(torch, eager, inputs, 3, reps)
                row.update({"eager_us": med, "eager_p10_us": p10, "eager_p90_us": p90,
                            "eager_reps": reps})
                line = f"torch {name:<20} {dname:<9} {layout:<6} eager {med:9.1f} us"
                want_compile = (not args.no_compile and (compile_set is None or name in compile_set)
                                and layout in args.compile_layouts.split(","))
                if want_compile and compile_spent < compile_budget:
                    tc = time.time()
                    try:
                        torch._dynamo.reset()
                        fn = torch.compile(lambda r, z, G=G: otca_advantages(xp, r, z, G))

                        def compiled(s, fn=fn):
                            with torch.no_grad():
                                return fn(s[0], s[1])

                        ref = eager(inputs[0])
                        got = compiled(inputs[0])
                        torch.cuda.synchronize()
                        cerr = float((got - ref).abs().max() / ref.abs().max().clamp_min(1e-30))
                        row["compile_s"] = time.time() - tc
                        cmed, cp10, cp90 = events_median_us(torch, compiled, inputs, 3, reps)
                        row.update({"compile_us": cmed, "compile_p10_us": cp10,
                                    "compile_p90_us": cp90, "compile_vs_eager_rel": cerr})
                        line += f"  compile {cmed:9.1f} us (built in {row['compile_s']:.0f} s)"
                    except Exception as exc:  # report, don't fail the run
                        row["compile_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
                        line += f"  compile FAILED ({type(exc).__name__})"
                    compile_spent += time.time() - tc
                elif want_compile:
                    row["compile_error"] = "skipped: compile time budget spent"
                print(line, flush=True)
                out["rows"].append(row)
                out["elapsed_s"] = time.time() - t0
                flush()
                del inputs
            del sets
            torch.cuda.empty_cache()
    out["elapsed_s"] = time.time() - t0


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--selftest", metavar="DIR")
    ap.add_argument("--check", metavar="DIR")
    ap.add_argument("--xp", choices=["torch", "numpy"], default="torch")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--only", help="comma-separated workload names to time")
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--compile-workloads", default="FLUX-512,Wan",
                    help="workloads to torch.compile (empty: all)")
    ap.add_argument("--compile-layouts", default="tensor", help="layouts to torch.compile")
    ap.add_argument("--compile-budget-s", type=float, default=150.0)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()

    result = {"tool": "torch_reference.py"}

    def flush():
        if args.json:
            with open(args.json + ".tmp", "w") as fh:
                json.dump(result, fh, indent=1)
            os.replace(args.json + ".tmp", args.json)

    ok = True
    if args.selftest:
        sok, res = selftest(args.selftest)
        result["selftest"] = res
        ok &= sok
    if args.check and not os.path.exists(os.path.join(args.check, "case.json")):
        print(f"check skipped: no {os.path.join(args.check, 'case.json')} (bench.mjs wrote no cases)",
              flush=True)
        result["checks"] = [{"case": "(none written)", "pass": False, "advantages_rel": float("inf")}]
        result["check_pass"] = False
        ok = False
    elif args.check:
        device = "cuda" if args.xp == "torch" else "cpu"
        cok, res = check(args.check, args.xp, device)
        result["checks"] = res
        result["check_pass"] = cok
        ok &= cok
        if not cok:
            print("check FAILED: the baseline does not match our outputs; timings would compare "
                  "different functions", flush=True)
    if args.bench:
        if args.check and not result.get("check_pass", False):
            # One device call per session: time anyway, but the report marks the check MISS.
            print("WARNING: timing a baseline that did not match our outputs (see check above)",
                  flush=True)
        flush()
        bench(args, result, flush)
    flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
