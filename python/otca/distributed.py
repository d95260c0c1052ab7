"""OTCA advantages across the ranks of a ``torch.distributed`` process group (NCCL or gloo).

Each rank passes its own samples and their global prompt ids. Phase 1 (everything per sample) runs
where the latents are; one ``all_gather`` carries each sample's (rewards, q, group id) row, N*(K+2)
numbers (N*(T*K+2) for per-step rewards), to every rank (after one of the local sizes, which may differ); phase 2 runs on every rank
over the concatenation in rank order, and each rank keeps its own rows. The result is bit for bit
the single-process result on that concatenation. Imported only when used."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch
import torch.distributed as dist

from . import _arrays as a
from ._errors import format_shape, type_error, value_error
from ._step import combine_credit, step_for

__all__ = ["advantages"]


def advantages(
    rewards: Any,
    latents: Any,
    *,
    group_ids: Any,
    process_group: Optional[Any] = None,
    check: bool = False,
    **options: Any,
) -> Any:
    """This rank's advantages ``[n_local, T]`` (float32, of the library and device of ``rewards``).

    rewards: this rank's [n_local, K] float32 or float64, or per-step [n_local, T, K] (T as in the
    latents); latents: its latents (any layout
    :func:`otca.advantages` takes); group_ids: the global prompt id of each of its samples (a
    group may span ranks); process_group: the group to gather over (default: the world). Every rank
    must pass the same options and the same K. Options as :func:`otca.advantages`.

    Example (one line in a DanceGRPO / Flow-GRPO trainer)::

        adv = otca.distributed.advantages(rewards, latents, group_ids=prompt_ids, preset="flow-grpo", temporal="tcd")
    """
    if group_ids is None:
        raise type_error("the global prompt id of each local sample", "group_ids", group_ids)
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError("otca.distributed.advantages needs torch.distributed initialised (init_process_group)")
    step = step_for(options)
    rew = a.rewards_input(rewards, None)
    n_local = rew.shape[0]
    K = int(np.prod(rew.shape[1:]))  # the columns of a row: K, or T*K for per-step rewards [n, T, K]
    ids = a.group_ids_host(group_ids, n_local)
    phase1 = step.trajectory_credit(latents, check=check)  # per sample: local
    T = phase1["step_weights"].shape[1]
    if len(rew.shape) == 3 and rew.shape[1] != T:
        raise value_error(f"{T} steps (T as in latents)", "rewards", f"shape {format_shape(rew.shape)}", False)
    q = phase1["trajectory_score"]
    world = dist.get_world_size(process_group)
    backend = dist.get_backend(process_group)
    on_cuda = backend == "nccl"
    device = torch.device(f"cuda:{torch.cuda.current_device()}") if on_cuda else torch.device("cpu")

    # the local sizes (they may differ), then one gather of rows padded to the largest
    size = torch.tensor([n_local], dtype=torch.int64, device=device)
    sizes = [torch.empty_like(size) for _ in range(world)]
    dist.all_gather(sizes, size, group=process_group)
    counts = [int(s.item()) for s in sizes]
    rows_max = max(counts)
    # float64 rows: float32/float64 rewards, float32 q and int32 ids all convert exactly and back
    r64 = torch.as_tensor(np.asarray(rew.array.detach().cpu() if rew.torch else rew.array)).to(torch.float64)
    rows = torch.zeros((rows_max, K + 2), dtype=torch.float64)
    rows[:n_local, :K] = r64.reshape(n_local, K)
    rows[:n_local, K] = torch.as_tensor(np.asarray(q.detach().cpu() if a.is_torch(q) else q), dtype=torch.float64)
    rows[:n_local, K + 1] = torch.from_numpy(ids.astype(np.float64))
    rows = rows.to(device)
    gathered = [torch.empty_like(rows) for _ in range(world)]
    dist.all_gather(gathered, rows, group=process_group)
    everything = torch.cat([g[:c] for g, c in zip(gathered, counts)]).cpu()

    rank = dist.get_rank(process_group)
    offset = sum(counts[:rank])
    reward_dtype = np.float64 if rew.dtype == 1 else np.float32
    all_rewards = np.ascontiguousarray(everything[:, :K].numpy().astype(reward_dtype)).reshape((-1,) + tuple(rew.shape[1:]))
    all_q = np.ascontiguousarray(everything[:, K].numpy().astype(np.float32))
    all_ids = np.ascontiguousarray(everything[:, K + 1].numpy().astype(np.int32))
    phase2 = step.objective_credit(all_rewards, all_q, group_ids=all_ids)
    fused = phase2["fused"][offset : offset + n_local]
    w = phase1["step_weights"]
    if a.is_torch(w):
        adv = combine_credit({"step_weights": w}, {"fused": torch.from_numpy(np.ascontiguousarray(fused)).to(w.device)})
    else:
        adv = combine_credit({"step_weights": w}, {"fused": fused})
    if rew.torch and not a.is_torch(adv):
        return torch.from_numpy(adv).to(rewards.device)
    if not rew.torch and a.is_torch(adv):
        return adv.cpu().numpy()
    return adv
