"""otca.distributed over 3 gloo ranks (torchrun --nproc-per-node 3) with unequal local sizes and
groups that span ranks: each rank's rows are bit for bit the single-process result on the
concatenation of the ranks' samples, for rewards [N, K] and per-step rewards [N, T, K]."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import torch

import otca
from conftest import ROOT, same_bits


def test_three_gloo_ranks_give_the_single_process_bits(tmp_path) -> None:
    rng = np.random.default_rng(31)
    counts = [5, 2, 7]  # local sizes differ
    N, T, D, K = sum(counts), 4, 24, 3
    rewards = rng.normal(size=(N, K)).astype(np.float64)
    latents = np.cumsum(rng.normal(size=(N, T + 1, D)), axis=1).astype(np.float32)
    ids = rng.integers(0, 4, size=N).astype(np.int64)  # 4 prompts scattered over the 3 ranks
    step_rewards = rng.normal(size=(N, T, 2)).astype(np.float32)  # per-step rewards [N, T, K]
    np.savez(tmp_path / "batch.npz", rewards=rewards, latents=latents, ids=ids, counts=np.array(counts), step_rewards=step_rewards)
    env = {**os.environ, "OTCA_PYTHON_PACKAGE": "" if os.environ.get("OTCA_TEST_INSTALLED") == "1" else str(ROOT / "python"), "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "3",
         str(ROOT / "test" / "python" / "dist_worker.py"), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    got = np.concatenate([np.load(tmp_path / f"rank-{k}.npy") for k in range(3)])
    bf16 = torch.from_numpy(latents).to(torch.bfloat16)
    want = otca.advantages(torch.from_numpy(rewards), bf16, group_ids=ids, min_weight=0.25, objective="moca")
    assert same_bits(got, want)
    assert not np.array_equal(got, otca.advantages(torch.from_numpy(rewards), bf16, group_ids=ids).numpy())
    got = np.concatenate([np.load(tmp_path / f"rank-{k}-steps.npy") for k in range(3)])
    want = otca.advantages(torch.from_numpy(step_rewards), bf16, group_ids=ids, preset="g2rpo", temporal="tcd")
    assert same_bits(got, want)
