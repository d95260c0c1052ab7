/**
 * The one place the demo computes advantages: otca's per-step advantages for each ablation variant.
 */
import { Tensor, otcaAdvantages } from '../../lib/index.js';

/** The four ablation variants (paper Table 3/4 style), sharing every other setting. */
export const VARIANTS = {
  dancegrpo: { label: 'DanceGRPO (weighted-reward, uniform)', objective: 'weighted-reward', temporal: 'uniform' },
  tcd: { label: 'TCD only (weighted-reward, tcd)', objective: 'weighted-reward', temporal: 'tcd' },
  moca: { label: 'MOCA only (moca, uniform)', objective: 'moca', temporal: 'uniform' },
  otca: { label: 'OTCA (moca, tcd)', objective: 'moca', temporal: 'tcd' },
} as const;

export type VariantName = keyof typeof VARIANTS;
export const VARIANT_NAMES = Object.keys(VARIANTS) as VariantName[];

/** Where otca runs ('auto': CUDA where usable, else the CPU, with one warning). Set by --device. */
export const advantageSettings: { device: 'auto' | 'cpu' | 'cuda' } = { device: 'auto' };

/** Wall time spent in the advantage step (the otca call with its Tensor views), for the summary. */
export const advantageTiming = { calls: 0, ms: 0 };

export interface StepAdvantages {
  /** [N, T] per-step advantages Adv[i, t]. */
  advantages: Float32Array;
  /** [N, T] dS (alignment gained by each step). */
  deltaS: Float32Array;
  /** [N] the fused advantage f. */
  fused: Float32Array;
  /** Which backend computed them. */
  backend: string;
}

/**
 * Per-step advantages from the rewards [N, K] and the latent trajectories [N, T+1, D] of
 * groups of `groupSize` samples.
 */
export function stepAdvantages(
  variant: VariantName,
  rewards: Float32Array,
  K: number,
  latents: Float32Array,
  N: number,
  T: number,
  D: number,
  groupSize: number,
): StepAdvantages {
  const { objective, temporal } = VARIANTS[variant];
  const t0 = performance.now();
  // Zero-copy views of the sampler's buffers; every other option at otca's defaults.
  const out = otcaAdvantages(
    {
      rewards: Tensor.from(rewards, [N, K]),
      latents: Tensor.from(latents, [N, T + 1, D]),
      groupSize,
    },
    { objective, temporal, device: advantageSettings.device, outputs: ['advantages', 'deltaS', 'fused'] },
  );
  advantageTiming.calls++;
  advantageTiming.ms += performance.now() - t0;
  return {
    advantages: out.advantages.data,
    deltaS: out.deltaS.data,
    fused: out.fused.data,
    backend: out.backend,
  };
}
