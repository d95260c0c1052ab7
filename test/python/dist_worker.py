"""One rank of test_distributed.py (started by torchrun): its slice of a fixed batch, the distributed
call over gloo, its rows written to OUT/rank-R.npy (and, per-step rewards, OUT/rank-R-steps.npy)."""

from __future__ import annotations

import os
import sys

import numpy as np
import torch
import torch.distributed as dist

if os.environ.get("OTCA_PYTHON_PACKAGE"):  # the checkout's package (else the installed one)
    sys.path.insert(0, os.environ["OTCA_PYTHON_PACKAGE"])
import otca.distributed  # noqa: E402


def main() -> None:
    out_dir = sys.argv[1]
    dist.init_process_group(os.environ.get("OTCA_DIST_BACKEND", "gloo"))
    rank, world = dist.get_rank(), dist.get_world_size()
    data = np.load(os.path.join(out_dir, "batch.npz"))
    counts = [int(c) for c in data["counts"]]
    start = sum(counts[:rank])
    sl = slice(start, start + counts[rank])
    rewards = torch.from_numpy(np.ascontiguousarray(data["rewards"][sl]))
    latents = torch.from_numpy(np.ascontiguousarray(data["latents"][sl])).to(torch.bfloat16)
    if os.environ.get("OTCA_DIST_CUDA") == "1":  # one GPU per rank
        torch.cuda.set_device(rank)
        rewards, latents = rewards.cuda(), latents.cuda()
    adv = otca.distributed.advantages(rewards, latents, group_ids=torch.from_numpy(data["ids"][sl]), min_weight=0.25, objective="moca")
    assert isinstance(adv, torch.Tensor) and adv.shape == (counts[rank], latents.shape[1] - 1)
    np.save(os.path.join(out_dir, f"rank-{rank}.npy"), adv.cpu().numpy())
    if "step_rewards" in data:  # per-step rewards [n, T, K], g2rpo's
        steps = torch.from_numpy(np.ascontiguousarray(data["step_rewards"][sl])).to(rewards.device)
        adv = otca.distributed.advantages(steps, latents, group_ids=torch.from_numpy(data["ids"][sl]), preset="g2rpo", temporal="tcd")
        np.save(os.path.join(out_dir, f"rank-{rank}-steps.npy"), adv.cpu().numpy())
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
