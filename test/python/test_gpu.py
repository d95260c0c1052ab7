"""CUDA tensors (skipped, saying why, on a machine without a usable CUDA device; the device machine
runs them through scripts/gpu-python-check.sh): results on the tensors' device from torch's
allocator, enqueued on the current stream with no host synchronisation (sync debug mode 'error'),
CUDA-graph capture and replay against eager, non-finite inputs (NaN outputs; check=True raises),
mixed devices, the device option, and the distributed call on one GPU."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, batch, needs_cuda, same_bits

torch = pytest.importorskip("torch")
import otca  # noqa: E402
import otca.torch as otorch  # noqa: E402

pytestmark = needs_cuda


def rel_err(got, want) -> float:
    g, w = got.detach().cpu().double(), torch.as_tensor(want).double()
    return float((g - w).abs().max() / max(float(w.abs().max()), 1e-30))


def inputs(seed=51, N=12, T=6, D=4096, K=3, dtype=None):
    rewards, z = batch(np.random.default_rng(seed), N=N, T=T, D=D, K=K)
    r, tz = torch.from_numpy(rewards), torch.from_numpy(z)
    if dtype is not None:
        tz = tz.to(dtype)
    return r, tz


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_cuda_tensors_run_on_their_device_near_the_cpu_result(dtype) -> None:
    r, z = inputs(dtype=getattr(torch, dtype))
    want = otca.AdvantageStep().run(r, z, group_size=4, outputs="all")
    got = otca.AdvantageStep().run(r.cuda(), z.cuda(), group_size=4, outputs="all")
    for name, value in got.items():
        assert value.is_cuda and value.device.index == 0 and value.dtype == torch.float32, name
    assert rel_err(got["advantages"], want["advantages"]) <= 1e-4
    # phase 2 on the same q: bit for bit the CPU's (one otca_math.h for both backends)
    q = want["trajectory_score"]
    o_cpu = otca.objective_credit(r, q, group_size=4)
    o_gpu = otca.objective_credit(r.cuda(), q.cuda(), group_size=4)
    for name in o_cpu:
        assert same_bits(o_gpu[name], o_cpu[name]), name


def test_per_step_rewards_and_gdpo_one_reward_on_cuda() -> None:
    """Per-step rewards [N, T, K] through otca_run_cuda (the workspace sized for T rows; an objective
    run's T its rewards'), and 'gdpo' with one reward (its K = 1 plan), against the CPU."""
    r, z = inputs(seed=57)
    rs = torch.from_numpy(np.random.default_rng(58).normal(size=(12, 6, 2)).astype(np.float32))
    want = otca.AdvantageStep(preset="g2rpo").run(rs, z, group_size=4, outputs="all")
    got = otca.AdvantageStep(preset="g2rpo").run(rs.cuda(), z.cuda(), group_size=4, outputs="all")
    assert got["fused"].shape == (12, 6) and got["coefficients"].shape == (12, 6, 2)
    assert rel_err(got["advantages"], want["advantages"]) <= 1e-4
    q = want["trajectory_score"]
    for step_rewards, options in ((torch.from_numpy(np.random.default_rng(59).normal(size=(12, 9, 3)).astype(np.float32)), {}),
                                  (r[:, :1].contiguous(), {"preset": "gdpo"})):
        o_cpu = otca.objective_credit(step_rewards, q, group_size=4, **options)
        o_gpu = otca.objective_credit(step_rewards.cuda(), q.cuda(), group_size=4, **options)
        for name in o_cpu:
            assert same_bits(o_gpu[name], o_cpu[name]), (name, options)


def test_no_host_synchronisation_and_the_current_stream() -> None:
    r, z = inputs(dtype=torch.bfloat16)
    r, z = r.cuda(), z.cuda()
    step = otca.AdvantageStep()
    want = step.run(r, z, group_size=4).cpu()
    ids_host = [0, 1, 2] * 4
    want_ids = step.run(r, z, group_ids=ids_host).cpu()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    torch.cuda.set_sync_debug_mode("error")
    try:
        with torch.cuda.stream(side):
            a = step.run(r, z, group_size=4)
            b = step.run(r, z, group_ids=ids_host)  # host ids: the index is copied on the stream
            t = step.trajectory_credit(list(z.unbind(1)))
    finally:
        torch.cuda.set_sync_debug_mode(0)
    side.synchronize()
    assert same_bits(a, want) and same_bits(b, want_ids)
    assert t["step_weights"].is_cuda


def test_cuda_graph_capture_and_replay_match_eager() -> None:
    r, z = inputs(seed=52, dtype=torch.bfloat16)
    sr, sz = r.cuda(), z.cuda()
    step = otca.AdvantageStep(min_weight=0.3)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        step.run(sr, sz, group_size=4)  # warm-up: the plan and the workspace size
        step.run(sr, sz, group_ids=[0, 1, 2] * 4)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        out = step.run(sr, sz, group_size=4)
    g2 = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g2):  # host group ids: the index's pinned copy is kept for the replays
        out_ids = step.run(sr, sz, group_ids=[0, 1, 2] * 4)
    for seed in (53, 54):
        r2, z2 = inputs(seed=seed, dtype=torch.bfloat16)
        sr.copy_(r2)
        sz.copy_(z2)
        g.replay()
        g2.replay()
        torch.cuda.synchronize()
        assert same_bits(out, step.run(sr, sz, group_size=4))
        assert same_bits(out_ids, step.run(sr, sz, group_ids=[0, 1, 2] * 4))


def test_non_finite_inputs_give_nan_outputs_and_check_raises() -> None:
    r, z = inputs(seed=55)
    z[3, 2, 7] = float("nan")
    r, z = r.cuda(), z.cuda()
    out = otca.AdvantageStep().run(r, z, group_size=4, outputs="all")
    assert torch.isnan(out["advantages"]).all()
    with pytest.raises(ValueError, match=r"^Expected finite values for latents but received NaN at sample 3"):
        otca.advantages(r, z, group_size=4, check=True)
    r[5, 1] = float("inf")
    with pytest.raises(ValueError, match=r"for rewards but received"):
        otca.advantages(r, torch.zeros_like(z).add_(1).cumsum(1), group_size=4, check=True)


def test_mixed_devices_and_device_requests() -> None:
    r, z = inputs(seed=56)
    with pytest.raises(ValueError, match=r"^Expected an array on cuda:0 \(as latents\) for rewards but received torch\.Tensor\(float32, \[12, 3\], cpu\)"):
        otca.advantages(r, z.cuda(), group_size=4)
    with pytest.raises(ValueError, match=r"device='cpu'.* for latents"):
        otca.advantages(r.cuda(), z.cuda(), group_size=4, device="cpu")
    with pytest.raises(ValueError, match=r"pass \.to\('cuda:0'\)\) for latents"):
        otca.advantages(r, z, group_size=4, device="cuda")
    assert otca.advantages(r.cuda(), z.cuda(), group_size=4, device="cuda:0").is_cuda
    # group ids on the device: read with one synchronising copy, same result
    ids = torch.tensor([0, 1, 2] * 4)
    assert same_bits(otca.advantages(r.cuda(), z.cuda(), group_ids=ids.cuda()), otca.advantages(r.cuda(), z.cuda(), group_ids=ids))


def test_torch_compile_on_cuda() -> None:
    r, z = inputs(seed=57, dtype=torch.bfloat16)
    r, z = r.cuda(), z.cuda()
    fn = torch.compile(lambda a, b: otorch.advantages(a, b, group_size=4) * 2.0, fullgraph=True)
    assert same_bits(fn(r, z), otca.advantages(r, z, group_size=4) * 2.0)


@pytest.mark.parametrize("backend", ["nccl", "gloo"])
def test_distributed_on_one_gpu(tmp_path, backend) -> None:
    if backend == "nccl" and not torch.distributed.is_nccl_available():
        pytest.skip("this torch has no NCCL")
    rng = np.random.default_rng(58)
    counts = [9]
    N, T, D, K = 9, 4, 512, 2
    rewards = rng.normal(size=(N, K)).astype(np.float32)
    latents = np.cumsum(rng.normal(size=(N, T + 1, D)), axis=1).astype(np.float32)
    ids = rng.integers(0, 3, size=N)
    np.savez(tmp_path / "batch.npz", rewards=rewards, latents=latents, ids=ids, counts=np.array(counts))
    env = {**os.environ, "OTCA_PYTHON_PACKAGE": "" if os.environ.get("OTCA_TEST_INSTALLED") == "1" else str(ROOT / "python"), "OTCA_DIST_BACKEND": backend, "OTCA_DIST_CUDA": "1"}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "1",
                        str(ROOT / "test" / "python" / "dist_worker.py"), str(tmp_path)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    got = np.load(tmp_path / "rank-0.npy")
    want = otca.advantages(torch.from_numpy(rewards).cuda(), torch.from_numpy(latents).to(torch.bfloat16).cuda(), group_ids=ids,
                           min_weight=0.25, objective="moca")
    assert same_bits(got, want)
