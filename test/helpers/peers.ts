/**
 * The project's own literal ports of the peer trainers' advantage computations, for the parity tests
 * of the presets and of the option sets docs/peers.md gives for each trainer (test/cpu/peers.test.ts,
 * test/cpu/per-step-rewards.test.ts). Each port follows the peer's code line by line and quotes it,
 * with the repository, commit, file, function and lines it was read from; where a test compares with
 * the peer's own rounding, in the peer's precision: DanceGRPO computes in float32 torch tensors
 * (emulated here with Math.fround after every operation, which is exact for +, -, *, / and sqrt);
 * Flow-GRPO fuses its rewards in float32 torch scalars and normalises them in float64 numpy.
 *
 * Read from (public repositories; each section names the commit it follows): DanceGRPO
 * (XueZeyue/DanceGRPO 15cc71d), Flow-GRPO (yifan123/flow_grpo ac4c86e; its Wan trainer at 9745241),
 * DiffusionNFT (NVlabs/DiffusionNFT 24af555), GDPO (NVlabs/GDPO b080e63), Flow-Factory
 * (X-GenGroup/Flow-Factory a0b2bc5), G2RPO (bcmi/Granular-GRPO ef6ec9f and cae0961), verl's diffusion
 * trainer (verl-project/verl-omni e612a5a), MixGRPO (Tencent-Hunyuan/MixGRPO 10293dd and e5cdd6a),
 * BranchGRPO (Fredreic1849/BranchGRPO 19fbb9f), Pref-GRPO (CodeGoat24/Pref-GRPO 3e787f6) and
 * TurningPoint-GRPO (YunzeTong/TurningPoint-GRPO 994d26a).
 *
 * One thing the ports cannot follow: the order of torch's float32 reductions (a tree on CUDA, a
 * cascade on the CPU). They sum in index order instead; any order has the same error bound, which
 * is what the tests' tolerance is built from.
 */

const f32 = Math.fround;

/** Rounds a result as a tensor of the given dtype holds it. */
type Round = (x: number) => number;
const exact: Round = (x) => x;

/** torch `x.mean()`: a sum (index order here), divided by n, each step rounded by `r`. */
function torchMean(xs: ArrayLike<number>, r: Round): number {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum = r(sum + xs[i]!);
  return r(sum / xs.length);
}

/** torch `x.std()`: the unbiased (n - 1) std, each step rounded by `r`. */
function torchStd(xs: ArrayLike<number>, r: Round): number {
  const mean = torchMean(xs, r);
  let ss = 0;
  for (let i = 0; i < xs.length; i++) {
    const d = r(xs[i]! - mean);
    ss = r(ss + r(d * d));
  }
  return r(Math.sqrt(r(ss / (xs.length - 1))));
}

/** torch.clamp(x, -c, c). */
function clamp(x: number, c: number): number {
  return x < -c ? -c : x > c ? c : x;
}

// ------------------------------------------------------------------ DanceGRPO

/**
 * DanceGRPO's single-reward advantages: XueZeyue/DanceGRPO, fastvideo/train_grpo_flux.py,
 * `train_one_step`, the `args.use_group` branch (lines 533-545) and the clamp before the loss
 * (lines 589-593):
 *
 *     for i in range(n):
 *         start_idx = i * args.num_generations
 *         end_idx = (i + 1) * args.num_generations
 *         group_rewards = samples["rewards"][start_idx:end_idx]
 *         group_mean = group_rewards.mean()
 *         group_std = group_rewards.std() + 1e-8
 *         advantages[start_idx:end_idx] = (group_rewards - group_mean) / group_std
 *     ...
 *     advantages = torch.clamp(sample["advantages"], -adv_clip_max, adv_clip_max)
 *
 * `samples["rewards"]` is `reward.to(torch.float32)` (line 520): the rewards of one GPU's batch,
 * `num_generations` samples of each prompt in a row. `adv_clip_max` defaults to 5.0.
 * `precision` 'float32' computes as the trainer does; 'float64' runs the same lines in float64 (the
 * formula itself, without the trainer's float32 rounding).
 */
export function danceGrpoFluxAdvantages(
  rewards: Float32Array,
  numGenerations: number,
  advClipMax = 5,
  precision: 'float32' | 'float64' = 'float32',
): Float64Array {
  const r = precision === 'float32' ? f32 : exact;
  const n = Math.floor(rewards.length / numGenerations);
  const advantages = new Float64Array(rewards.length);
  for (let i = 0; i < n; i++) {
    const startIdx = i * numGenerations;
    const endIdx = (i + 1) * numGenerations;
    const groupRewards = rewards.subarray(startIdx, endIdx);
    const groupMean = torchMean(groupRewards, r);
    const groupStd = r(torchStd(groupRewards, r) + r(1e-8));
    for (let m = 0; m < groupRewards.length; m++) advantages[startIdx + m] = r(r(groupRewards[m]! - groupMean) / groupStd);
  }
  return advantages.map((a) => clamp(a, advClipMax));
}

/**
 * DanceGRPO's multi-reward advantages: XueZeyue/DanceGRPO, fastvideo/train_grpo_hunyuan.py,
 * `train_one_step`: each reward normalised per group on its own (lines 370-392, the loop above once
 * for `vq_rewards` and once for `mq_rewards`), each clamped on its own before its own clipped loss
 * (lines 450-454 and 464-468), and the losses summed with coefficients (line 477):
 *
 *     final_loss = args.vq_coef*vq_loss + args.mq_coef*mq_loss
 *
 * Ported for K rewards (the trainer has two, vq and mq; the loop is the same for each).
 * `perReward[k]` is the clamped advantage each loss uses; `fused` is sum_k coef_k A_k, the one
 * advantage whose clipped loss equals that sum of losses while every ratio stays inside the clip
 * range (see {@link grpoClippedLoss}); float64, as it is a statement about the losses, not a value
 * the trainer computes. The best-of-n selection that follows (lines 394-409) picks samples by
 * `vq_coef * vq_advantages + mq_coef * mq_advantages`, before clamping, and changes no advantage.
 */
export function danceGrpoHunyuanAdvantages(
  rewards: readonly Float32Array[],
  numGenerations: number,
  coefs: readonly number[],
  advClipMax = 5,
  precision: 'float32' | 'float64' = 'float32',
): { perReward: Float64Array[]; fused: Float64Array } {
  const perReward = rewards.map((r) => danceGrpoFluxAdvantages(r, numGenerations, advClipMax, precision));
  const N = rewards[0]!.length;
  const fused = new Float64Array(N);
  for (let i = 0; i < N; i++) for (let k = 0; k < rewards.length; k++) fused[i]! += coefs[k]! * perReward[k]![i]!;
  return { perReward, fused };
}

/**
 * One sample's clipped GRPO loss and its derivative in the ratio: XueZeyue/DanceGRPO,
 * fastvideo/train_grpo_hunyuan.py lines 455-461 (before the mean):
 *
 *     vq_unclipped_loss = -vq_advantages * ratio
 *     vq_clipped_loss = -vq_advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
 *     vq_loss = torch.mean(torch.maximum(vq_unclipped_loss, vq_clipped_loss)) / ...
 *
 * Float64 (the claim tested with it is exact algebra). The derivative is the one autograd takes: the
 * clamp passes the gradient only inside the range; where the two terms are equal both have slope -A.
 */
export function grpoClippedLoss(advantage: number, ratio: number, clipRange: number): { loss: number; dRatio: number } {
  const clipped = Math.min(Math.max(ratio, 1 - clipRange), 1 + clipRange);
  const unclippedLoss = -advantage * ratio;
  const clippedLoss = -advantage * clipped;
  if (unclippedLoss >= clippedLoss) return { loss: unclippedLoss, dRatio: -advantage };
  return { loss: clippedLoss, dRatio: clipped === ratio ? -advantage : 0 };
}

// ------------------------------------------------------------------ Flow-GRPO

/**
 * Flow-GRPO's fused reward: yifan123/flow_grpo, flow_grpo/rewards.py, `multi_score` `_fn`
 * (lines 381-400):
 *
 *     weighted_scores = [weight * score for score in scores]
 *     if not total_scores:
 *         total_scores = weighted_scores
 *     else:
 *         total_scores = [total + weighted for total, weighted in zip(total_scores, weighted_scores)]
 *     ...
 *     score_details['avg'] = total_scores
 *
 * for scorers that return float32 torch tensors (pickscore, imagereward, aesthetic, ...): each
 * `weight * score` and each `+` is a float32 tensor operation (the Python float weight taken as
 * float32). scripts/train_sd3.py line 694 then keeps it as float32 (`.float()`).
 * `scores` is row-major [N, K]; returns avg [N].
 */
export function flowGrpoMultiScore(scores: Float32Array, weights: readonly number[]): Float32Array {
  const K = weights.length;
  const N = scores.length / K;
  const total = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    let t = f32(f32(weights[0]!) * scores[i * K]!);
    for (let k = 1; k < K; k++) t = f32(t + f32(f32(weights[k]!) * scores[i * K + k]!));
    total[i] = t;
  }
  return total;
}

/** numpy `np.mean` (float64; numpy sums pairwise, which differs from index order below 1e-15 relative). */
function npMean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s / xs.length;
}

/** numpy `np.std` (float64, ddof 0): sqrt(mean((x - mean)^2)). */
function npStd(xs: ArrayLike<number>): number {
  const m = npMean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) * (xs[i]! - m);
  return Math.sqrt(s / xs.length);
}

/**
 * Flow-GRPO's advantages: yifan123/flow_grpo, flow_grpo/stat_tracking.py,
 * `PerPromptStatTracker.update` (lines 11-31, type 'grpo'), on a tracker cleared after every epoch
 * (scripts/train_sd3.py line 780), then the clamp before the loss (scripts/train_sd3.py lines 881-885,
 * `config.train.adv_clip_max = 5` in config/base.py line 84):
 *
 *     rewards = np.array(rewards, dtype=np.float64)
 *     unique = np.unique(prompts)
 *     ...
 *         mean = np.mean(self.stats[prompt], axis=0, keepdims=True)
 *         if self.global_std:
 *             std = np.std(rewards, axis=0, keepdims=True) + 1e-4  # Use global std of all rewards
 *         else:
 *             std = np.std(self.stats[prompt], axis=0, keepdims=True) + 1e-4
 *         if type=='grpo':
 *             advantages[prompts == prompt] = (prompt_rewards - mean) / std
 *     ...
 *     advantages = torch.clamp(sample["advantages"][:, j], -config.train.adv_clip_max, config.train.adv_clip_max)
 *
 * `prompts` are the decoded prompts of the whole gathered epoch (train_sd3.py lines 757-761), in
 * the order the sampler drew them; `rewards` the float32 `avg` of {@link flowGrpoMultiScore}.
 * `globalStd` is `config.sample.global_std` (True in config/base.py line 52 and every config of
 * config/grpo.py). The `[N, num_train_timesteps]` repeat of line 740 gives equal columns; one
 * column is ported. Returns float64, as the trainer keeps it.
 */
export function flowGrpoAdvantages(
  prompts: readonly string[],
  rewards: ArrayLike<number>,
  globalStd = true,
  advClipMax = 5,
): Float64Array {
  const r = Float64Array.from(rewards);
  const unique = [...new Set(prompts)].sort();
  const stats = new Map<string, number[]>();
  for (const prompt of unique) {
    const promptRewards = r.filter((_, i) => prompts[i] === prompt);
    stats.set(prompt, [...(stats.get(prompt) ?? []), ...promptRewards]);
  }
  const advantages = new Float64Array(r.length);
  for (const prompt of unique) {
    const history = stats.get(prompt)!;
    const mean = npMean(history);
    const std = (globalStd ? npStd(r) : npStd(history)) + 1e-4;
    for (let i = 0; i < r.length; i++) if (prompts[i] === prompt) advantages[i] = (r[i]! - mean) / std;
  }
  return advantages.map((a) => clamp(a, advClipMax));
}

/**
 * The prompts of one Flow-GRPO epoch as its sampler draws them: scripts/train_sd3.py,
 * `DistributedKRepeatSampler.__iter__` (lines 93-117), once per batch of the epoch with a new seed
 * (`set_epoch(epoch * num_batches_per_epoch + i)`, line 618): m distinct prompts of the dataset,
 * each repeated k times, shuffled; the epoch is the concatenation of its batches (lines 698-707).
 * So a prompt drawn in two batches has 2k samples, one drawn once with k = 1 is a singleton, and
 * no group is contiguous. `rand` is a seeded uniform generator.
 */
export function flowGrpoEpochPrompts(rand: () => number, datasetSize: number, m: number, k: number, batches: number): string[] {
  const randperm = (n: number): number[] => {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  };
  const out: string[] = [];
  for (let b = 0; b < batches; b++) {
    const indices = randperm(datasetSize).slice(0, m);
    const repeated = indices.flatMap((idx) => new Array<number>(k).fill(idx));
    for (const s of randperm(repeated.length)) out.push(`prompt ${repeated[s]!}`);
  }
  return out;
}

/** Each prompt's group id, numbered in order of first appearance (what a trainer passes as groupIds). */
export function groupIdsOf(prompts: readonly string[]): Int32Array {
  const ids = new Map<string, number>();
  return Int32Array.from(prompts, (p) => {
    if (!ids.has(p)) ids.set(p, ids.size);
    return ids.get(p)!;
  });
}

// ------------------------------------------------------------------ DiffusionNFT

/**
 * DiffusionNFT's advantages: NVlabs/DiffusionNFT, commit 24af5554898d85e93efa492f42b5e9cdf4156e9b.
 * The fused reward, flow_grpo/rewards.py, `multi_score` `_fn` (lines 295-302), the same lines as
 * Flow-GRPO's {@link flowGrpoMultiScore}:
 *
 *     weighted_scores = [weight * score for score in scores]
 *     if not total_scores:
 *         total_scores = weighted_scores
 *     else:
 *         total_scores = [total + weighted for total, weighted in zip(total_scores, weighted_scores)]
 *     score_details["avg"] = total_scores
 *
 * repeated over the steps, `.unsqueeze(1).repeat(1, num_train_timesteps)` (scripts/train_nft_sd3.py
 * lines 722-723: equal columns, one is ported). Then scripts/train_nft_sd3.py, `main`, lines 744-772:
 *
 *     if config.per_prompt_stat_tracking:
 *         prompt_ids_all = gather_tensor_to_all(collated_samples["prompt_ids"], world_size)
 *         prompts_all_decoded = pipeline.tokenizer.batch_decode(prompt_ids_all.cpu().numpy(), skip_special_tokens=True)
 *         advantages = stat_tracker.update(prompts_all_decoded, gathered_rewards_dict["avg"])
 *         ...
 *         stat_tracker.clear()
 *     else:
 *         avg_rewards_all = gathered_rewards_dict["avg"]
 *         advantages = (avg_rewards_all - avg_rewards_all.mean()) / (avg_rewards_all.std() + 1e-4)
 *
 * with the repository's own copy of the tracker, flow_grpo/stat_tracking.py,
 * `PerPromptStatTracker.update` (lines 12-32; Flow-GRPO's `type='grpo'` computation, without the
 * `type` argument):
 *
 *     rewards = np.array(rewards, dtype=np.float64)
 *     unique = np.unique(prompts)
 *     ...
 *         mean = np.mean(self.stats[prompt], axis=0, keepdims=True)
 *         if self.global_std:
 *             std = np.std(rewards, axis=0, keepdims=True) + 1e-4  # Use global std of all rewards
 *         else:
 *             std = np.std(self.stats[prompt], axis=0, keepdims=True) + 1e-4
 *         advantages[prompts == prompt] = (prompt_rewards - mean) / std
 *
 * `global_std` is `config.sample.global_std` (True, config/base.py line 57; config/nft.py keeps it),
 * `per_prompt_stat_tracking` True (config/base.py line 106). The tracker is updated once per epoch
 * and cleared after it (line 769), so a prompt's statistics are its samples of this epoch. The
 * `else` branch cannot run at this commit: lines 505-510 turn tracking off where
 * `num_image_per_prompt == 1` and then stop the trainer (`assert False`) whenever tracking is off;
 * it is ported as it reads (numpy's `.std()`: population). No clip here: the clamp is in the loss
 * ({@link diffusionNftLossWeights}).
 *
 * Float64 throughout, the fusion included. The trainer rounds `avg` to float32 (line 683, `.float()`;
 * exact for one reward of weight 1) and its `else` branch computes in float32 numpy; the tracker
 * itself runs in float64. `scores` row-major [N, K], `prompts` the decoded prompts in batch order.
 * Returns the advantage of each sample, before the clamp.
 */
export function diffusionNftAdvantages(
  prompts: readonly string[],
  scores: ArrayLike<number>,
  weights: readonly number[],
  perPromptStatTracking = true,
  globalStd = true,
): Float64Array {
  const K = weights.length;
  const N = prompts.length;
  const avg = Float64Array.from({ length: N }, (_, i) => weights.reduce((total, w, k) => total + w * scores[i * K + k]!, 0));
  const advantages = new Float64Array(N);
  if (!perPromptStatTracking) {
    const mean = npMean(avg);
    const std = npStd(avg) + 1e-4;
    for (let i = 0; i < N; i++) advantages[i] = (avg[i]! - mean) / std;
    return advantages;
  }
  const unique = [...new Set(prompts)].sort();
  for (const prompt of unique) {
    const stats = avg.filter((_, i) => prompts[i] === prompt);
    const mean = npMean(stats);
    const std = (globalStd ? npStd(avg) : npStd(stats)) + 1e-4;
    for (let i = 0; i < N; i++) if (prompts[i] === prompt) advantages[i] = (avg[i]! - mean) / std;
  }
  return advantages;
}

/** `config.train.adv_mode` of DiffusionNFT's loss ('all', config/nft.py line 62, changes nothing). */
export type DiffusionNftAdvMode = 'all' | 'positive_only' | 'negative_only' | 'one_only' | 'binary';

/**
 * What DiffusionNFT's loss makes of one step's advantages: NVlabs/DiffusionNFT, commit 24af555,
 * scripts/train_nft_sd3.py, `main`, lines 909-929 (`adv_clip_max` 5, config/base.py line 84):
 *
 *     advantages_clip = torch.clamp(train_sample_batch["advantages"][:, j_idx], -config.train.adv_clip_max, config.train.adv_clip_max)
 *     if hasattr(config.train, "adv_mode"):
 *         if config.train.adv_mode == "positive_only":
 *             advantages_clip = torch.clamp(advantages_clip, 0, config.train.adv_clip_max)
 *         elif config.train.adv_mode == "negative_only":
 *             advantages_clip = torch.clamp(advantages_clip, -config.train.adv_clip_max, 0)
 *         elif config.train.adv_mode == "one_only":
 *             advantages_clip = torch.where(advantages_clip > 0, torch.ones_like(advantages_clip), torch.zeros_like(advantages_clip))
 *         elif config.train.adv_mode == "binary":
 *             advantages_clip = torch.sign(advantages_clip)
 *     # normalize advantage
 *     normalized_advantages_clip = (advantages_clip / config.train.adv_clip_max) / 2.0 + 0.5
 *     r = torch.clamp(normalized_advantages_clip, 0, 1)
 *
 * `r` weighs the positive and the implicit negative prediction's losses (lines 959-960). Float64,
 * as the trainer holds the tracker's advantages (`torch.from_numpy`, lines 779-781).
 */
export function diffusionNftLossWeights(
  advantages: ArrayLike<number>,
  advClipMax = 5,
  advMode: DiffusionNftAdvMode = 'all',
): { advantagesClip: Float64Array; r: Float64Array } {
  const advantagesClip = Float64Array.from(advantages, (a) => {
    const c = clamp(a, advClipMax);
    if (advMode === 'positive_only') return Math.min(Math.max(c, 0), advClipMax);
    if (advMode === 'negative_only') return Math.min(Math.max(c, -advClipMax), 0);
    if (advMode === 'one_only') return c > 0 ? 1 : 0;
    if (advMode === 'binary') return Math.sign(c);
    return c;
  });
  const r = advantagesClip.map((a) => Math.min(Math.max(a / advClipMax / 2 + 0.5, 0), 1));
  return { advantagesClip, r };
}

// ------------------------------------------------------------------ GDPO

/** torch `x.mean()` / `x.std()` (unbiased) in float64, index order. */
function mean64(xs: readonly number[]): number {
  return torchMean(xs, exact);
}
function std64Bessel(xs: readonly number[]): number {
  return torchStd(xs, exact);
}

/**
 * GDPO's advantages: NVlabs/GDPO, commit b080e632, trl-GDPO/trl-0.18.0-gdpo/trl/trainer/grpo_trainer.py,
 * `GRPOTrainer._generate_and_score_completions`. With `apply_gdpo` and K >= 2 rewards
 * (lines 1222-1248):
 *
 *     for i in range(len(self.reward_weights)):
 *         reward_i = rewards_per_func_filter[:,i]
 *         each_reward_mean_grouped = reward_i.view(-1, self.num_generations).mean(dim=1)
 *         each_reward_std_grouped = reward_i.view(-1, self.num_generations).std(dim=1)
 *         ...
 *         each_reward_advantage = reward_i - each_reward_mean_grouped
 *         each_reward_advantage = each_reward_advantage / (each_reward_std_grouped + 1e-4)
 *         all_reward_advantage.append(each_reward_advantage)
 *     combined_reward_advantage = torch.stack(all_reward_advantage, dim=1)
 *     pre_bn_advantages = (combined_reward_advantage * self.reward_weights.to(device).unsqueeze(0)).nansum(dim=1)
 *     bn_advantages_mean = pre_bn_advantages.mean()
 *     bn_advantages_std = pre_bn_advantages.std()
 *     advantages = (pre_bn_advantages - bn_advantages_mean) / (bn_advantages_std + 1e-4)
 *
 * and with one reward, the `else` branch (lines 1250-1266, `scale_rewards` True by default):
 *
 *     rewards = (rewards_per_func * self.reward_weights.to(device).unsqueeze(0)).nansum(dim=1)
 *     mean_grouped_rewards = rewards.view(-1, self.num_generations).mean(dim=1)
 *     std_grouped_rewards = rewards.view(-1, self.num_generations).std(dim=1)
 *     ...
 *     advantages = rewards - mean_grouped_rewards
 *     if self.scale_rewards:
 *         advantages = advantages / (std_grouped_rewards + 1e-4)
 *
 * Groups are contiguous runs of `num_generations` (the `view`); torch's std is unbiased (n - 1).
 * No clip follows. Ported in float64 (the trainer's tensors are float32: the formula, not its
 * rounding). `rewards` row-major [N, K]; returns the advantages [N].
 */
export function gdpoAdvantages(rewards: ArrayLike<number>, K: number, numGenerations: number, weights: readonly number[]): Float64Array {
  const N = rewards.length / K;
  const groups = N / numGenerations;
  const out = new Float64Array(N);
  if (K > 1) {
    const pre = new Float64Array(N);
    for (let k = 0; k < K; k++) {
      for (let g = 0; g < groups; g++) {
        const group = Array.from({ length: numGenerations }, (_, m) => rewards[(g * numGenerations + m) * K + k]!);
        const mean = mean64(group);
        const std = std64Bessel(group);
        group.forEach((r, m) => (pre[g * numGenerations + m]! += ((r - mean) / (std + 1e-4)) * weights[k]!));
      }
    }
    const all = Array.from(pre);
    const bnMean = mean64(all);
    const bnStd = std64Bessel(all);
    for (let i = 0; i < N; i++) out[i] = (pre[i]! - bnMean) / (bnStd + 1e-4);
    return out;
  }
  for (let g = 0; g < groups; g++) {
    const group = Array.from({ length: numGenerations }, (_, m) => rewards[g * numGenerations + m]! * weights[0]!);
    const mean = mean64(group);
    const std = std64Bessel(group);
    group.forEach((r, m) => (out[g * numGenerations + m] = (r - mean) / (std + 1e-4)));
  }
  return out;
}

// ------------------------------------------------------------------ Flow-Factory

/**
 * Flow-Factory's default advantages: X-GenGroup/Flow-Factory, commit a0b2bc5,
 * src/flow_factory/advantage/advantage_processor.py, `AdvantageProcessor.compute_gdpo` (lines
 * 451-470; `advantage_aggregation` defaults to 'gdpo', hparams/training_args.py lines 418-421) on one
 * process: groups from `collect_group_rewards` (lines 196-197 and 220-221: `np.unique(unique_ids,
 * return_inverse=True)`, any sizes and any order), the batch statistics from `_global_mean_std`
 * (lines 261-262 on the default sampler, `distributed_k_repeat`, where a single process's gather is
 * the batch itself):
 *
 *     for key, reward_array in gathered_rewards.items():
 *         reward_adv = np.zeros_like(reward_array, dtype=np.float64)
 *         for group_id in np.unique(group_indices):
 *             mask = group_indices == group_id
 *             group_rewards = reward_array[mask]
 *             mean = np.mean(group_rewards)
 *             std = max(np.std(group_rewards), 1e-6)
 *             reward_adv[mask] = (group_rewards - mean) / std
 *         all_reward_advantages.append(reward_adv * self.reward_weights[key])
 *     combined_advantages = np.sum(all_reward_advantages, axis=0)
 *     bn_mean, bn_std = self._global_mean_std(combined_advantages)
 *     advantages = (combined_advantages - bn_mean) / bn_std
 *     ...
 *         mean = float(np.mean(values))
 *         std = max(float(np.std(values)), 1e-6)
 *
 * then the clamp before the loss, once (trainers/grpo.py lines 266-269, `adv_clip_range` (-5.0, 5.0)
 * in hparams/training_args.py lines 427-430):
 *
 *     adv = torch.clamp(adv, adv_clip_range[0], adv_clip_range[1])
 *
 * np.std is the population std. `global_std` is not read on this path. Float64 (the gathered
 * rewards are float32 there; the same float32 values are passed in). `rewards` row-major [N, K].
 */
export function flowFactoryAdvantages(rewards: ArrayLike<number>, K: number, groupIds: ArrayLike<number>, weights: readonly number[], clip = 5): Float64Array {
  const N = rewards.length / K;
  const ids = [...new Set(Array.from(groupIds))].sort((a, b) => a - b);
  const combined = new Float64Array(N);
  for (let k = 0; k < K; k++) {
    const rewardAdv = new Float64Array(N);
    for (const id of ids) {
      const members = Array.from({ length: N }, (_, i) => i).filter((i) => groupIds[i] === id);
      const group = members.map((i) => rewards[i * K + k]!);
      const mean = npMean(group);
      const std = Math.max(npStd(group), 1e-6);
      members.forEach((i, m) => (rewardAdv[i] = (group[m]! - mean) / std));
    }
    for (let i = 0; i < N; i++) combined[i]! += rewardAdv[i]! * weights[k]!;
  }
  const bnMean = npMean(combined);
  const bnStd = Math.max(npStd(combined), 1e-6);
  return combined.map((c) => clamp((c - bnMean) / bnStd, clip));
}

// ------------------------------------------------------------------ G2RPO

/**
 * G2RPO's per-step advantages: bcmi/Granular-GRPO, commit ef6ec9f3283e2ea3aa9381a8e740c1ad924dd67a,
 * fastvideo/train_g2rpo_hps.py, `train_one_step`, lines 615-632:
 *
 *     n = len(samples["pooled_prompt_embeds"]) // (args.num_generations)
 *     advantages = torch.zeros_like(samples["all_rewards"][0])
 *
 *     for rewards in samples["all_rewards"]:
 *         group_advantages = torch.zeros_like(rewards)
 *         for i in range(n):
 *             start_idx = i * args.num_generations
 *             end_idx = (i + 1) * args.num_generations
 *
 *             group_rewards = rewards[start_idx:end_idx]
 *             group_mean = group_rewards.mean(dim=0)
 *             group_std = group_rewards.std(dim=0) + 1e-8
 *
 *             group_advantages[start_idx:end_idx] = (group_rewards - group_mean) / group_std
 *
 *         advantages += group_advantages
 *
 *     samples["advantages"] = advantages
 *
 * and, before the clipped loss of trained step `t_idx`, lines 659-661:
 *
 *     advantages = torch.clamp(
 *         samples["advantages"][:, t_idx], -adv_clip_max, adv_clip_max
 *     )
 *
 * `samples["all_rewards"]` is one tensor [B, len(eta_step_list)] per granularity of `granular_list`,
 * from `sample_reference_model` (lines 314-513): the group shares one ODE anchor trajectory; at each
 * sampler step `eta_step` of `eta_step_list` (loop at line 421) every sample takes one SDE step of its
 * own, then for each granularity g (line 440) finishes by ODE over every g-th remaining sigma and is
 * scored by HPS (line 488); the scores are stacked over the eta steps (`dim=1`, line 495) and cast
 * `.to(torch.float32)` (line 509). So the step axis is the trained steps, column t being sampler step
 * `eta_step_list[t]` (the loss at line 655 uses that index), not every sampler step: its scripts
 * (scripts/finetune/finetune_g2rpo_hps.sh) pass `--sampling_steps 16 --eta_step_list 0 1 2 3 4 5 6 7
 * --granular_list 1 2 --num_generations 12 --adv_clip_max 5.0`; the argparse defaults are 16 (line
 * 1089), [1] (line 1140), [1, 2] (line 1148), 12 (line 1107) and 5.0 (line 1131). `n` counts the
 * groups of one process: each process normalises its own `num_generations`-row groups, nothing is
 * gathered.
 *
 * The two-reward trainer, fastvideo/train_g2rpo_hps_clip.py at commit
 * cae0961a53e6304396e9b098427fb485154ed369, `train_one_step` lines 657-693, runs the same loop once
 * over the HPS rewards into `hps_advantages` (lines 660-674) and once over the CLIP-score rewards
 * (`all_rewards_2`, the same granularities) into `clip_advantages` (lines 677-691), and adds the two
 * without weights (line 693):
 *
 *     samples["advantages"] = hps_advantages + clip_advantages
 *
 * clamped as above (lines 720-722); its defaults and scripts are the same.
 *
 * `rewards[m][j]` is reward model m's (HPS, then CLIP) tensor for granularity j, row-major [N, steps].
 * One model is train_g2rpo_hps.py, two are train_g2rpo_hps_clip.py (more: the same sum, in order).
 * `precision` 'float32' computes as the trainer does: every tensor there is float32 (torch's
 * reductions in index order here, see the note at the top); 'float64' runs the same lines in float64.
 * Returns the clamped advantages [N, steps].
 */
export function g2rpoAdvantages(
  rewards: readonly (readonly ArrayLike<number>[])[],
  numGenerations: number,
  steps: number,
  advClipMax = 5,
  precision: 'float32' | 'float64' = 'float32',
): Float64Array {
  const r = precision === 'float32' ? f32 : exact;
  const modelAdvantages = rewards.map((granularities) => {
    const N = granularities[0]!.length / steps;
    const n = Math.floor(N / numGenerations);
    const advantages = new Float64Array(N * steps);
    for (const rewardsJ of granularities) {
      const groupAdvantages = new Float64Array(N * steps);
      for (let i = 0; i < n; i++) {
        const startIdx = i * numGenerations;
        for (let t = 0; t < steps; t++) {
          // group_rewards[:, t]: mean(dim=0) and std(dim=0) reduce each column over the group
          const column = Array.from({ length: numGenerations }, (_, m) => rewardsJ[(startIdx + m) * steps + t]!);
          const groupMean = torchMean(column, r);
          const groupStd = r(torchStd(column, r) + r(1e-8));
          for (let m = 0; m < numGenerations; m++) groupAdvantages[(startIdx + m) * steps + t] = r(r(column[m]! - groupMean) / groupStd);
        }
      }
      for (let x = 0; x < advantages.length; x++) advantages[x] = r(advantages[x]! + groupAdvantages[x]!);
    }
    return advantages;
  });
  const total = modelAdvantages.reduce((sum, a) => sum.map((v, x) => r(v + a[x]!)));
  return total.map((a) => clamp(a, advClipMax));
}

// ------------------------------------------------------------------ verl's diffusion trainer (verl-omni)

/**
 * verl's diffusion trainer: verl-project/verl-omni, commit e612a5a22fc26a7d8a325f607e8d0c0bef1823db,
 * verl_omni/trainer/diffusion/diffusion_algos.py, `compute_flow_grpo_outcome_advantage` (the
 * `DiffusionAdvantageEstimator.FLOW_GRPO` estimator, defaults epsilon 1e-4, global_std True,
 * norm_adv_by_std_in_grpo True):
 *
 *     if global_std:
 *         batch_std = torch.std(scores)
 *     ...
 *     for idx in id2score:
 *         if len(id2score[idx]) == 1:
 *             id2mean[idx] = id2score[idx][0]
 *             id2std[idx] = batch_std            (global_std)
 *         elif len(id2score[idx]) > 1:
 *             id2mean[idx] = torch.mean(scores_tensor)
 *             id2std[idx] = batch_std            (global_std)
 *     for i in range(bsz):
 *         scores[i] = (scores[i] - id2mean[index[i]]) / (id2std[index[i]] + epsilon)
 *
 * then `compute_diffusion_loss_flow_grpo` clamps at `adv_clip_max` before its clipped loss. Groups
 * are the prompt uids (`index`), of any size and order. torch.std is Bessel's (n - 1). Ported for one
 * reward column per sample (`sample_level_rewards` [bs, 1]); with the reward repeated over more
 * columns, torch.std would run over all bs * columns values and differ. `globalStd` false takes each
 * group's own Bessel std (1 for a group of one, whose advantage is 0 either way). Float64.
 */
export function verlFlowGrpoAdvantages(rewards: ArrayLike<number>, index: ArrayLike<number>, globalStd = true, clip = 5, epsilon = 1e-4): Float64Array {
  const N = rewards.length;
  const batchStd = torchStd(rewards, exact);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < N; i++) {
    const id = index[i]!;
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id)!.push(rewards[i]!);
  }
  const mean = new Map<number, number>();
  const std = new Map<number, number>();
  for (const [id, scores] of groups) {
    mean.set(id, scores.length === 1 ? scores[0]! : torchMean(scores, exact));
    std.set(id, globalStd ? batchStd : scores.length === 1 ? 1 : torchStd(scores, exact));
  }
  const out = new Float64Array(N);
  for (let i = 0; i < N; i++) out[i] = clamp((rewards[i]! - mean.get(index[i]!)!) / (std.get(index[i]!)! + epsilon), clip);
  return out;
}

// ------------------------------------------------------------------ MixGRPO

/**
 * MixGRPO's multi-reward advantages, `multi_reward_mix == "advantage_aggr"` with `use_group` and
 * `trimmed_ratio` 0: Tencent-Hunyuan/MixGRPO, fastvideo/train_grpo_flux.py (the stored snapshot at
 * commit 10293ddd07b0c69ed7cee8c342cb369f1698238e), `train_one_step`:
 *
 *     for model_name, model_rewards in gathered_reward.items():   # one reward model at a time
 *         for i in range(n):
 *             group_rewards = model_rewards[start_idx:end_idx]
 *             group_mean = group_rewards.mean()
 *             group_std = group_rewards.std() + 1e-8
 *             advantages[start_idx:end_idx] += (group_rewards - group_mean) / group_std
 *     for model_name, model_advs in model_advantages.items():
 *         merged_advantages += model_advs * reward_weights[model_name]
 *     ...
 *     advantages = torch.clamp(sample["advantages"], -adv_clip_max, adv_clip_max)
 *
 * with `reward_weights` divided by their sum in `main`. Unlike DanceGRPO's trainers, each reward's
 * advantage is NOT clamped: only the merged one is, once. Float64; contiguous groups of
 * `numGenerations`. `rewards` row-major [N, K]; `weights` as given (normalised here, as `main` does).
 */
export function mixGrpoAdvantageAggr(rewards: ArrayLike<number>, K: number, numGenerations: number, weights: readonly number[], advClipMax = 5): Float64Array {
  const N = rewards.length / K;
  const total = weights.reduce((a, b) => a + b, 0);
  const merged = new Float64Array(N);
  for (let k = 0; k < K; k++) {
    for (let start = 0; start < N; start += numGenerations) {
      const group = Array.from({ length: numGenerations }, (_, m) => rewards[(start + m) * K + k]!);
      const mean = torchMean(group, exact);
      const std = torchStd(group, exact) + 1e-8;
      for (let m = 0; m < numGenerations; m++) merged[start + m]! += ((group[m]! - mean) / std) * (weights[k]! / total);
    }
  }
  return merged.map((a) => clamp(a, advClipMax));
}

/**
 * MixGRPO's multi-reward advantages, `multi_reward_mix == "reward_aggr"` with `use_group` (its
 * scripts pass it) and `trimmed_ratio` 0: Tencent-Hunyuan/MixGRPO, commit
 * e5cdd6a427778d8c8b2e7a48ce16972141adbe7c. The rewards are merged per sample first, in
 * fastvideo/models/reward_model/utils.py, `compute_reward`, lines 74-93 (Python floats: the reward
 * models return `.item()` / `.tolist()` values):
 *
 *     merged_rewards = [0.0] * len(input_prompts)
 *     ...
 *             if all_success:
 *                 for model_name, weight in reward_weights.items():
 *                     if model_name in rewards_dict:
 *                         merged_rewards[i] += rewards_dict[model_name][i] * weight
 *
 * with `reward_weights` divided by their sum in `main` (fastvideo/train_grpo_flux.py lines 764-770),
 * then made float32 in `sample_reference_model` (line 293):
 *
 *     all_rewards.append(torch.tensor(rewards, device=device, dtype=torch.float32))
 *
 * and normalised per group in `train_one_step` (lines 458-479):
 *
 *     n = len(samples["rewards"]) // (args.num_generations)
 *     ...
 *         group_rewards = samples["rewards"][start_idx:end_idx]
 *         ...
 *             group_mean = group_rewards.mean()
 *             group_std = group_rewards.std() + 1e-8
 *         advantages[start_idx:end_idx] = (group_rewards - group_mean) / group_std
 *
 * clamped once before the clipped loss (lines 567-571, `adv_clip_max` 5.0 by default and in its
 * scripts): `torch.clamp(sample["advantages"], -adv_clip_max, adv_clip_max)`.
 *
 * A sample for which any reward model fails (raises, or UnifiedReward's client reports a failure)
 * gets the merged reward 0.0, which then enters its group's statistics: not ported. The merge runs
 * in float64 in index order of `weights` (the order of `reward_models`) as Python does; `precision`
 * 'float32' then rounds the merged reward to float32 as `torch.tensor(..., dtype=torch.float32)`
 * does, 'float64' keeps it. The group statistics run in
 * float64 (the trainer's are float32 torch). Contiguous groups of `numGenerations`. `rewards`
 * row-major [N, K]; `weights` as given (normalised here, as `main` does).
 */
export function mixGrpoRewardAggr(
  rewards: ArrayLike<number>,
  K: number,
  numGenerations: number,
  weights: readonly number[],
  advClipMax = 5,
  precision: 'float32' | 'float64' = 'float32',
): Float64Array {
  const N = rewards.length / K;
  const total = weights.reduce((a, b) => a + b, 0);
  const rewardWeights = total > 0 ? weights.map((w) => w / total) : weights.map(() => 1 / K);
  const merged = Float64Array.from({ length: N }, (_, i) => {
    let m = 0;
    for (let k = 0; k < K; k++) m += rewards[i * K + k]! * rewardWeights[k]!;
    return precision === 'float32' ? f32(m) : m;
  });
  const advantages = new Float64Array(N);
  for (let start = 0; start + numGenerations <= N; start += numGenerations) {
    const group = merged.subarray(start, start + numGenerations);
    const mean = torchMean(group, exact);
    const std = torchStd(group, exact) + 1e-8;
    for (let m = 0; m < numGenerations; m++) advantages[start + m] = (group[m]! - mean) / std;
  }
  return advantages.map((a) => clamp(a, advClipMax));
}

// ------------------------------------------------------------------ BranchGRPO

/**
 * BranchGRPO's tree advantages on its default path (its shipped script passes no `--use_group`):
 * Fredreic1849/BranchGRPO, commit 19fbb9fc92ad1857212f3b664d6e9ff80c8b3804 (the file is the same at
 * ffc3c902), fastvideo/train_branchgrpo_flux.py.
 *
 * The tree (`run_tree_sample_step`, lines 354-542): one root per prompt (lines 384-390); every
 * step makes each node a child, two at a split step (`parse_split_points`, lines 150-167, clamps the
 * points to [0, steps - 1]), so a tree has 2^splits leaves, all at depth `steps`, and the node at
 * depth d is the path's state after step d - 1. Children are appended in their parent's order, so a
 * node's leaves are a contiguous block. Node rewards (`compute_node_rewards_from_leaves`, lines
 * 557-558 and 643-649, without `--tree_prob_weighted`):
 *
 *     leaf_node.reward = leaf_rewards[i]
 *     ...
 *                     descendant_rewards = [leaf.reward for leaf in leaf_descendants]
 *                     node.reward = torch.stack(descendant_rewards).mean()
 *
 * then per tree (`train_one_step_tree`, lines 1169-1180) `compute_hierarchical_advantages_by_depth`
 * (lines 655-687), over the nodes of each depth:
 *
 *         if len(nodes) <= 1:
 *             for node in nodes:
 *                 node.advantage = torch.tensor(0.0)
 *         else:
 *             rewards = torch.stack([node.reward for node in nodes])
 *             mean_reward = rewards.mean()
 *             std_reward = rewards.std()
 *             if std_reward < 1e-6:
 *                 advantages = torch.zeros_like(rewards)
 *             else:
 *                 advantages = (rewards - mean_reward) / (std_reward + 1e-8)
 *
 * Each transition parent -> child is trained once with the child's advantage (`collect_all_transitions`,
 * lines 1199-1209, `"advantage": child_advantage`, `"step": node.step`), clamped before the clipped
 * loss (lines 1536-1547): `torch.clamp(advantage, -adv_clip_max, adv_clip_max)`, 5.0 by default.
 *
 * Float64 (the formula; with HPS its rewards and these lines run in float16 under autocast). `rewards`:
 * the leaves of consecutive trees, 2^splits each, in the sampler's order. Returns [N, steps]: the
 * advantage of the transition at step t on leaf i's path. From the last split step on, every node has
 * one leaf, so these columns are the per-tree z-score of the leaf rewards; before it, the node's.
 */
export function branchGrpoPathAdvantages(rewards: ArrayLike<number>, steps: number, splitPoints: readonly number[], advClipMax = 5): Float64Array {
  const splits = [...new Set(splitPoints.map((p) => Math.min(Math.max(p, 0), steps - 1)))];
  const L = 2 ** splits.length;
  const N = rewards.length;
  const out = new Float64Array(N * steps);
  for (let root = 0; root < N; root += L) {
    for (let t = 0; t < steps; t++) {
      const nodes = 2 ** splits.filter((p) => p <= t).length; // at depth t + 1
      const leavesPerNode = L / nodes;
      const nodeRewards = Array.from({ length: nodes }, (_, n) => torchMean(Array.from({ length: leavesPerNode }, (_, j) => rewards[root + n * leavesPerNode + j]!), exact));
      let advantages = nodeRewards.map(() => 0);
      if (nodes > 1) {
        const mean = torchMean(nodeRewards, exact);
        const std = torchStd(nodeRewards, exact);
        if (!(std < 1e-6)) advantages = nodeRewards.map((r) => (r - mean) / (std + 1e-8));
      }
      for (let j = 0; j < L; j++) out[(root + j) * steps + t] = clamp(advantages[Math.floor(j / leavesPerNode)]!, advClipMax);
    }
  }
  return out;
}

// ------------------------------------------------------------------ Pref-GRPO

/**
 * Pref-GRPO's advantages: CodeGoat24/Pref-GRPO, commit 3e787f6dd5a3051b40d61f07e9578468ac26130a,
 * fastvideo/rewards/dispatcher.py, `compute_weighted_advantages` (lines 614-703), for rewards with no
 * sub-dimensions (its `else` branch, line 695):
 *
 *     def _compute_adv(rewards: torch.Tensor) -> torch.Tensor:
 *         if use_group:
 *             n = len(rewards) // num_generations
 *             adv_local = torch.zeros_like(rewards)
 *             for i in range(n):
 *                 start_idx = i * num_generations
 *                 end_idx = (i + 1) * num_generations
 *                 group_rewards = rewards[start_idx:end_idx]
 *                 group_mean = group_rewards.mean()
 *                 group_std = group_rewards.std() + 1e-8
 *                 adv_local[start_idx:end_idx] = (group_rewards - group_mean) / group_std
 *             return adv_local
 *         gathered_reward = gather_tensor(rewards)
 *         return (rewards - gathered_reward.mean()) / (gathered_reward.std() + 1e-8)
 *     for name in reward_weights.keys():
 *         ...
 *             adv = _compute_adv(rewards)
 *         reward_advantages[name] = adv
 *         advantages = advantages + reward_weights.get(name, 0.0) * adv
 *     if apply_gdpo:
 *         gathered_advantages = gather_tensor(advantages)
 *         advantages = (advantages - gathered_advantages.mean()) / (
 *             gathered_advantages.std() + 1e-8
 *         )
 *
 * called from fastvideo/train_flux.py `train_one_step` (lines 655-662, with `args.use_group`,
 * `args.num_generations` and `apply_gdpo`), which clamps the result once before the clipped loss
 * (lines 723-727, `adv_clip_max` 5.0 by default):
 *
 *     advantages = torch.clamp(
 *         sample["advantages"],
 *         -adv_clip_max,
 *         adv_clip_max,
 *     )
 *
 * torch's std is Bessel's (n - 1). The weights are `parse_reward_spec`'s values as given (not
 * normalised). On one process `gather_tensor` returns the batch itself; over several, the batch of
 * every process: pass that. Float64 (the reward tensors are float32 there). `rewards` row-major
 * [N, K]; samples past the last whole group keep 0 with `useGroup`, as `n` leaves them.
 */
export function prefGrpoAdvantages(
  rewards: ArrayLike<number>,
  K: number,
  numGenerations: number,
  weights: readonly number[],
  { useGroup = true, applyGdpo = false, clip: advClipMax = 5 }: { useGroup?: boolean; applyGdpo?: boolean; clip?: number } = {},
): Float64Array {
  const N = rewards.length / K;
  const computeAdv = (r: Float64Array): Float64Array => {
    if (useGroup) {
      const n = Math.floor(r.length / numGenerations);
      const advLocal = new Float64Array(r.length);
      for (let i = 0; i < n; i++) {
        const startIdx = i * numGenerations;
        const endIdx = (i + 1) * numGenerations;
        const groupRewards = r.subarray(startIdx, endIdx);
        const groupMean = torchMean(groupRewards, exact);
        const groupStd = torchStd(groupRewards, exact) + 1e-8;
        for (let m = 0; m < groupRewards.length; m++) advLocal[startIdx + m] = (groupRewards[m]! - groupMean) / groupStd;
      }
      return advLocal;
    }
    const mean = torchMean(r, exact);
    const std = torchStd(r, exact) + 1e-8;
    return r.map((x) => (x - mean) / std);
  };
  let advantages = new Float64Array(N);
  for (let k = 0; k < K; k++) {
    const adv = computeAdv(Float64Array.from({ length: N }, (_, i) => rewards[i * K + k]!));
    advantages = advantages.map((a, i) => a + weights[k]! * adv[i]!);
  }
  if (applyGdpo) {
    const mean = torchMean(advantages, exact);
    const std = torchStd(advantages, exact) + 1e-8;
    advantages = advantages.map((a) => (a - mean) / std);
  }
  return advantages.map((a) => clamp(a, advClipMax));
}

/**
 * Pairwise win rates as Pref-GRPO's UnifiedReward-Think reward gives them: CodeGoat24/Pref-GRPO,
 * commit 3e787f6, fastvideo/rewards/unifiedreward_think.py, `_pairwise_win_rate` (lines 21-62):
 * every pair of the batch's images compared once (`itertools.combinations`), a win 1, a tie or an
 * unreadable answer 0.5 to each, and each image's reward `round(wins / comparisons, 3)` (Python's
 * round: an exact half goes to the even digit) as a float32 tensor (`torch.tensor` of a float). The trainers' scripts run one prompt per GPU batch (`--train_batch_size 1`), so the pairs
 * are the group's. `outcome(i, j)` gives 1 (i better), 2 (j better) or 0 (a tie); one group of
 * `n` images.
 */
export function prefGrpoWinRates(n: number, outcome: (i: number, j: number) => 0 | 1 | 2): Float32Array {
  const wins = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const o = outcome(i, j);
      if (o === 1) wins[i]! += 1;
      else if (o === 2) wins[j]! += 1;
      else {
        wins[i]! += 0.5;
        wins[j]! += 0.5;
      }
    }
  }
  const round3 = (x: number): number => {
    const v = x * 1000;
    const down = Math.floor(v);
    const up = v - down > 0.5 || (v - down === 0.5 && down % 2 === 1);
    return (up ? down + 1 : down) / 1000;
  };
  return Float32Array.from(wins, (w) => (n > 1 ? round3(w / (n - 1)) : 0));
}

// ------------------------------------------------------------------ per-step rewards: Flow-GRPO's Wan trainer, TurningPoint-GRPO

/**
 * Flow-GRPO's `PerPromptStatTracker.update` (type 'grpo') on rewards with a step axis, as the
 * per-step trainers below call it: flow_grpo/stat_tracking.py lines 11-31 (the same lines in
 * yifan123/flow_grpo at 9745241c and in YunzeTong/TurningPoint-GRPO at 994d26a6, which copies the
 * file), on a tracker cleared after every epoch:
 *
 *     rewards = np.array(rewards, dtype=np.float64)
 *     ...
 *         mean = np.mean(self.stats[prompt], axis=0, keepdims=True)
 *         if self.global_std:
 *             std = np.std(rewards, axis=0, keepdims=True) + 1e-4  # Use global std of all rewards
 *         else:
 *             std = np.std(self.stats[prompt], axis=0, keepdims=True) + 1e-4
 *         if type=='grpo':
 *             advantages[prompts == prompt] = (prompt_rewards - mean) / std
 *
 * `rewards` row-major [N, C]: with C columns, `axis=0` makes every statistic per column (the
 * prompt's mean and population std at that column; with `globalStd`, the population std of the
 * whole batch at that column). A prompt of one sample gets 0. Float64, as numpy computes.
 */
function perPromptStatTrackerUpdate(prompts: readonly string[], rewards: ArrayLike<number>, C: number, globalStd: boolean): Float64Array {
  const N = prompts.length;
  const columnOf = (c: number, rows: readonly number[]) => rows.map((i) => rewards[i * C + c]!);
  const all = Array.from({ length: N }, (_, i) => i);
  const advantages = new Float64Array(N * C);
  for (const prompt of [...new Set(prompts)].sort()) {
    const rows = all.filter((i) => prompts[i] === prompt);
    for (let c = 0; c < C; c++) {
      const history = columnOf(c, rows);
      const mean = npMean(history);
      const std = (globalStd ? npStd(columnOf(c, all)) : npStd(history)) + 1e-4;
      for (const i of rows) advantages[i * C + c] = (rewards[i * C + c]! - mean) / std;
    }
  }
  return advantages;
}

/**
 * Flow-GRPO's Wan 2.1 trainer with its per-step KL reward: yifan123/flow_grpo at commit
 * 9745241cf1101407e9b518dd4f10498092150522 (2025-11-04, read in the stored fork zhtmike/flow_grpo,
 * whose main is that commit; the index's later 74db6919 has the same lines below),
 * scripts/train_wan2_1.py, `main`:
 *
 *     videos, latents, log_probs, kls = wan_pipeline_with_logprob(..., kl_reward=config.sample.kl_reward)   # 682-694
 *     kls = torch.stack(kls, dim=1)                                                                  # 700
 *     kl = kls.detach()                                                                              # 701
 *     ...
 *     samples["rewards"]["ori_avg"] = samples["rewards"]["avg"]                                     # 787
 *     samples["rewards"]["avg"] = samples["rewards"]["avg"].unsqueeze(-1) - config.sample.kl_reward*samples["kl"]   # 788
 *     ...
 *     advantages = stat_tracker.update(prompts, gathered_rewards['avg'])                             # 812
 *     ...
 *     advantages = torch.clamp(sample["advantages"][:, j], -config.train.adv_clip_max, config.train.adv_clip_max)   # 944-948
 *
 * `kl[i, t]` is the sampler's KL of step t against the reference model (flow_grpo/diffusers_patch/
 * wan_pipeline_with_logprob.py lines 310-341: the mean over the latent of (mean - ref_mean)^2 /
 * (2 std_t^2); zero where `kl_reward` is 0). So the per-step reward is r[i,t] = R[i] - kl_reward
 * kl[i,t], [N, num_steps], normalised by {@link perPromptStatTrackerUpdate} per step (per prompt,
 * population std + 1e-4; the batch's at that step with `global_std`), then clamped at
 * `adv_clip_max` (5, config/base.py line 97). `global_std` is True in config/base.py (line 59) and
 * False in the trainer's own config (config/grpo.py `general_ocr_wan2_1`, line 64, which also sets
 * `kl_reward = 0`, line 59). The branch without per-prompt tracking (line 831, one sample per
 * prompt) is not ported: it takes one mean and std over all N * num_steps values at once. Lines
 * 846-873 then drop the samples whose advantages are 0 at every step (and, where that is every sample
 * of a process, add 1e-6 to all its advantages first): a selection after the advantage, not ported.
 *
 * `reward` [N] (the fused task reward `avg`, float32 in the trainer), `kl` row-major [N, T].
 * `precision` 'float32' forms line 788 as the trainer does (a float32 tensor times a Python float,
 * then a float32 subtraction); 'float64' runs it in float64 (the formula). Returns [N, T] float64.
 */
export function flowGrpoWanKlRewardAdvantages(
  prompts: readonly string[],
  reward: ArrayLike<number>,
  kl: ArrayLike<number>,
  T: number,
  klReward: number,
  { globalStd, advClipMax = 5, precision = 'float64' }: { globalStd: boolean; advClipMax?: number; precision?: 'float32' | 'float64' },
): Float64Array {
  const r = precision === 'float32' ? f32 : exact;
  const N = prompts.length;
  const avg = Float64Array.from({ length: N * T }, (_, x) => r(reward[Math.floor(x / T)]! - r(klReward * kl[x]!)));
  return perPromptStatTrackerUpdate(prompts, avg, T, globalStd).map((a) => clamp(a, advClipMax));
}

/**
 * TurningPoint-GRPO's advantages from its per-step ("process") rewards: YunzeTong/TurningPoint-GRPO
 * at commit 994d26a63b65dbeba3260286317c137453cf3070 (2026-02-10), scripts/my_train_sd3_fast_with_op3.py,
 * `main` (scripts/my_train_flux_fast_with_op3.py has the same lines at 601, 1404, 1441, 1545-1549):
 *
 *     stat_trackers_per_timestep = [PerPromptStatTracker(config.sample.global_std) for _ in range(num_train_timesteps)]   # 614-617
 *     ...
 *     for t in range(gathered_process_rewards_np.shape[1]):                                          # 1402
 *         rewards_t = gathered_process_rewards_np[:, t]  # (N,)
 *         advantages_t = stat_trackers_per_timestep[t].update(prompts, rewards_t)                   # 1407
 *     advantages = np.stack(advantages_per_timestep, axis=1)                                         # 1411
 *     ...
 *     else:                                                                                          # 1437
 *         for t in range(gathered_process_rewards_np.shape[1]):
 *             rewards_t = gathered_process_rewards_np[:, t]  # (N,)
 *             advantages_t = (rewards_t - rewards_t.mean()) / (rewards_t.std() + 1e-4)              # 1444
 *     ...
 *     advantages = torch.clamp(sample["advantages"][:, j], -config.train.adv_clip_max, config.train.adv_clip_max)   # 1566-1570
 *
 * `process_rewards` [N, num_train_timesteps] (gathered at lines 1311-1313) is built at lines
 * 858-1100 from the rewards of ODE completions after each SDE step: the increment d_t = R_t -
 * R_{t-1} (R_0 the pure-ODE reward) and a turning-point bonus (eta times the trajectory's SDE-minus-
 * ODE reward gain, at steps where the sign of d_t turns to agree with that gain; balancing and
 * propagation by configuration), one of the two the main term and the other the bonus, by
 * `take_delta_global_as_main`. That construction is the trainer's input to the advantage and is not
 * ported here: `processRewards` is it, row-major [N, T], T = num_train_timesteps (the SDE window,
 * lines 378-381). Each step's tracker is fresh every epoch (cleared at lines 1435-1436), so each
 * column is normalised per prompt (population std + 1e-4; the batch's with `global_std`, True in
 * config/base.py line 56 and set False by every config of config/my_grpo.py) or, with
 * `perPromptStatTracking` false (one image per prompt, lines 610-611), over the whole batch at that
 * step. `adv_clip_max` is 5 (config/base.py line 94). Float64.
 */
export function turningPointGrpoAdvantages(
  prompts: readonly string[],
  processRewards: ArrayLike<number>,
  T: number,
  { globalStd, perPromptStatTracking = true, advClipMax = 5 }: { globalStd: boolean; perPromptStatTracking?: boolean; advClipMax?: number },
): Float64Array {
  const N = prompts.length;
  const advantages = new Float64Array(N * T);
  for (let t = 0; t < T; t++) {
    const rewardsT = Float64Array.from({ length: N }, (_, i) => processRewards[i * T + t]!);
    let advantagesT: Float64Array;
    if (perPromptStatTracking) advantagesT = perPromptStatTrackerUpdate(prompts, rewardsT, 1, globalStd);
    else {
      const mean = npMean(rewardsT);
      const std = npStd(rewardsT) + 1e-4;
      advantagesT = rewardsT.map((x) => (x - mean) / std);
    }
    for (let i = 0; i < N; i++) advantages[i * T + t] = advantagesT[i]!;
  }
  return advantages.map((a) => clamp(a, advClipMax));
}
