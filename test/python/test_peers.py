"""The presets against Python ports of the peer trainers' own advantage lines (the same lines that
test/helpers/peers.ts ports to TypeScript, cited there by file and line), run here as the peers run
them: DanceGRPO in float32 torch tensors, Flow-GRPO's fusion in float32 torch and its normalisation in
float64 numpy. Tolerances as test/cpu/peers.test.ts derives them (u = 2^-24): DanceGRPO
(n + 4) u (a + M / (std + eps)) per reward; Flow-GRPO u |A| + (2 + a) Delta / (std + 1e-4) + 1e-12."""

from __future__ import annotations

from typing import List, Sequence

import numpy as np
import torch

import otca
from conftest import batch

U = 2.0**-24


# ------------------------------------------------------------------ DanceGRPO

def dancegrpo_flux_advantages(rewards: torch.Tensor, num_generations: int, adv_clip_max: float = 5.0) -> torch.Tensor:
    """XueZeyue/DanceGRPO, fastvideo/train_grpo_flux.py, train_one_step, the args.use_group branch
    (lines 533-545) and the clamp before the loss (lines 589-593)."""
    n = len(rewards) // num_generations
    advantages = torch.zeros_like(rewards)
    for i in range(n):
        start_idx = i * num_generations
        end_idx = (i + 1) * num_generations
        group_rewards = rewards[start_idx:end_idx]
        group_mean = group_rewards.mean()
        group_std = group_rewards.std() + 1e-8
        advantages[start_idx:end_idx] = (group_rewards - group_mean) / group_std
    return torch.clamp(advantages, -adv_clip_max, adv_clip_max)


def dance_tolerance(column: np.ndarray, G: int) -> np.ndarray:
    tol = np.zeros(len(column))
    for s in range(0, len(column), G):
        g = column[s : s + G].astype(np.float64)
        mean, std = g.mean(), g.std(ddof=1)
        M = np.abs(g).max()
        tol[s : s + G] = (G + 4) * U * (np.abs(g - mean) / (std + 1e-8) + M / (std + 1e-8))
    return tol


def test_dancegrpo_preset_matches_its_lines() -> None:
    rng = np.random.default_rng(11)
    for G, B, K in [(12, 2, 1), (4, 3, 2), (8, 1, 3)]:
        N = G * B
        rewards, z = batch(rng, N=N, T=3, D=8, K=K)
        rewards = (rewards * rng.uniform(0.1, 10)).astype(np.float32)
        coefs = [float(np.float32(c)) for c in rng.uniform(0.2, 2, size=K)]
        # train_grpo_hunyuan.py: each reward normalised on its own, losses summed with coefficients (line 477)
        per_reward = [dancegrpo_flux_advantages(torch.from_numpy(rewards[:, k].copy()), G).double().numpy() for k in range(K)]
        port = sum(c * a for c, a in zip(coefs, per_reward))
        tol = sum(abs(c) * dance_tolerance(rewards[:, k], G) for k, c in enumerate(coefs))
        out = otca.AdvantageStep(preset="dancegrpo", objective_weights=coefs).run(rewards, z, group_size=G, outputs="all")
        assert np.all(np.abs(out["fused"] - port) <= tol), (G, K, np.abs(out["fused"] - port).max())
        assert np.array_equal(out["advantages"], np.repeat(out["fused"][:, None], 3, axis=1))  # uniform over steps


# ------------------------------------------------------------------ Flow-GRPO

def flow_grpo_multi_score(scores: List[torch.Tensor], weights: Sequence[float]) -> torch.Tensor:
    """yifan123/flow_grpo, flow_grpo/rewards.py, multi_score _fn (lines 381-400), float32 tensors."""
    total_scores: List[torch.Tensor] = []
    for score, weight in zip(scores, weights):
        weighted_scores = [weight * s for s in score]
        if not total_scores:
            total_scores = weighted_scores
        else:
            total_scores = [total + weighted for total, weighted in zip(total_scores, weighted_scores)]
    return torch.stack(total_scores)


def flow_grpo_advantages(prompts: np.ndarray, rewards: np.ndarray, global_std: bool = True, adv_clip_max: float = 5.0) -> np.ndarray:
    """yifan123/flow_grpo, flow_grpo/stat_tracking.py, PerPromptStatTracker.update (lines 11-31,
    type 'grpo') on a cleared tracker, then the clamp (flow_grpo/scripts/train_sd3.py lines 881-885)."""
    rewards = np.array(rewards, dtype=np.float64)
    unique = np.unique(prompts)
    advantages = np.empty_like(rewards) * 0.0
    stats = {}
    for prompt in unique:
        prompt_rewards = rewards[prompts == prompt]
        stats[prompt] = list(prompt_rewards)
    for prompt in unique:
        prompt_rewards = rewards[prompts == prompt]
        mean = np.mean(stats[prompt], axis=0, keepdims=True)
        if global_std:
            std = np.std(rewards, axis=0, keepdims=True) + 1e-4
        else:
            std = np.std(stats[prompt], axis=0, keepdims=True) + 1e-4
        advantages[prompts == prompt] = (prompt_rewards - mean) / std
    return np.clip(advantages, -adv_clip_max, adv_clip_max)


def test_flow_grpo_preset_matches_its_lines() -> None:
    rng = np.random.default_rng(12)
    for K, batches, m, k in [(1, 2, 4, 3), (3, 3, 3, 2), (2, 1, 5, 4)]:
        # the epoch's prompts as DistributedKRepeatSampler draws them: m prompts x k, shuffled, per batch
        prompts = np.concatenate([rng.permutation(np.repeat(rng.choice(20, m, replace=False), k)) for _ in range(batches)])
        N = len(prompts)
        scores = rng.normal(size=(N, K)).astype(np.float32)
        weights = [1.0] if K == 1 else [float(np.float32(w)) for w in rng.uniform(0.2, 2, size=K)]
        fused32 = flow_grpo_multi_score([torch.from_numpy(scores[:, j].copy()) for j in range(K)], weights).numpy()
        port = flow_grpo_advantages(prompts, fused32)
        _, ids = np.unique(prompts, return_inverse=True)
        z = np.cumsum(rng.normal(size=(N, 3, 8)), axis=1).astype(np.float32)
        out = otca.AdvantageStep(preset="flow-grpo", objective_weights=weights).run(scores, z, group_ids=ids, outputs="all")
        R = (scores.astype(np.float64) * weights).sum(axis=1)
        S = np.abs(scores.astype(np.float64) * weights).sum(axis=1)
        delta = 0.0 if K == 1 and weights[0] == 1 else 2 * K * U * S.max()
        spread = R.std() + 1e-4
        a = np.array([abs(R[i] - R[ids == ids[i]].mean()) / spread for i in range(N)])
        tol = U * np.minimum(a, 5) + (2 + a) * delta / spread + 1e-12
        assert np.all(np.abs(out["fused"] - port) <= tol), (K, np.abs(out["fused"] - port).max())
