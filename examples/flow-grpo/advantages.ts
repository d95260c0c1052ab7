/**
 * The one place the demo computes advantages: otca's per-step advantages for each arm of the
 * ablation. Every arm is a set of otca options (nothing else differs between arms), except the
 * fixed-profile control, which keeps TCD's average step profile and drops its per-sample part.
 *
 * The trainer is a tfjs trainer, so its arms get their advantages as a tfjs trainer would: from
 * `otca/tfjs`'s `otcaAdvantagesTf`, given the rewards and the sampler's list of states as
 * `tf.Tensor2D`s. The fixed-profile control needs otca's step weights and fused advantage too,
 * which `otcaAdvantagesTf` does not return: it calls `otcaAdvantages` on zero-copy views of the
 * same list.
 */
import type * as TF from '@tensorflow/tfjs';
import { Tensor, otcaAdvantages, type OtcaOptions } from '../../lib/index.js';
import { otcaAdvantagesTf } from '../../lib/tfjs.js';
import { tfjs } from './tf.js';

/** One arm: a label naming what it computes (and whose trainer computes it), and otca options. */
export interface Arm {
  label: string;
  /** Short label for tables and curves. */
  short: string;
  options: Pick<OtcaOptions, 'objective' | 'temporal' | 'stdScope' | 'stdCorrection' | 'epsAdv' | 'objectiveWeights' | 'fusedNormalization' | 'preset'>;
  /** Replace each step's weight w[i, t] by its mean over the batch's samples (the fixed-profile control). */
  fixedProfile?: boolean;
}

/**
 * The six arms of the study. DanceGRPO's multi-reward trainer normalises each reward in its group
 * (Bessel std, eps 1e-8, clip 5) and sums the per-reward losses with its coefficients (all 1 here):
 * otca's `'weighted-advantage'`, which is also MOCA's matched baseline. Flow-GRPO's `multi_score`
 * sums the weighted rewards, and its stat tracker normalises the sum by the mean of the prompt
 * and the population std of the whole batch plus 1e-4: `'weighted-reward'` with `stdScope:
 * 'batch'`, `stdCorrection: 0`, `epsAdv: 1e-4`. The paper adds TCD and MOCA to DanceGRPO, so the
 * TCD arms keep DanceGRPO's fusion and the DanceGRPO arm is the uniform baseline of all of them.
 */
export const ARMS = {
  'flow-grpo': {
    label: "Flow-GRPO's fusion (weighted-reward, batch std, uniform)",
    short: 'Flow-GRPO',
    options: { objective: 'weighted-reward', temporal: 'uniform', stdScope: 'batch', stdCorrection: 0, epsAdv: 1e-4 },
  },
  dancegrpo: {
    label: 'DanceGRPO (weighted-advantage, uniform)',
    short: 'DanceGRPO',
    options: { objective: 'weighted-advantage', temporal: 'uniform', objectiveWeights: [1, 1, 1] },
  },
  tcd: {
    label: 'TCD (weighted-advantage, tcd)',
    short: 'TCD',
    options: { objective: 'weighted-advantage', temporal: 'tcd', objectiveWeights: [1, 1, 1] },
  },
  'tcd-fixed': {
    label: 'TCD, fixed profile (weighted-advantage, batch-mean tcd weights)',
    short: 'TCD fixed',
    options: { objective: 'weighted-advantage', temporal: 'tcd', objectiveWeights: [1, 1, 1] },
    fixedProfile: true,
  },
  moca: {
    label: 'MOCA only (moca, uniform)',
    short: 'MOCA',
    options: { objective: 'moca', temporal: 'uniform' },
  },
  otca: {
    label: 'OTCA (moca, tcd)',
    short: 'OTCA',
    options: { objective: 'moca', temporal: 'tcd' },
  },
  // The arms the 2026-12-07 study adds: MOCA's fused advantage standardised within its group
  // (removing its positive within-group mean), and GDPO's fusion, the multi-reward baseline the
  // field has moved to (each reward z-scored in its group, summed, the sum z-scored over the batch).
  'moca-group': {
    label: "MOCA, f standardised in its group (moca, uniform, fusedNormalization 'group')",
    short: 'MOCA+grp',
    options: { objective: 'moca', temporal: 'uniform', fusedNormalization: 'group' },
  },
  'otca-group': {
    label: "OTCA, f standardised in its group (moca, tcd, fusedNormalization 'group')",
    short: 'OTCA+grp',
    options: { objective: 'moca', temporal: 'tcd', fusedNormalization: 'group' },
  },
  gdpo: {
    label: "GDPO (preset 'gdpo': per-reward group z-score, sum, batch z-score)",
    short: 'GDPO',
    options: { preset: 'gdpo' },
  },
} as const satisfies Record<string, Arm>;

export type ArmName = keyof typeof ARMS;
export const ARM_NAMES = Object.keys(ARMS) as ArmName[];
/** The six arms of the 2026-12-05 study (the default of a plain `npm run demo` and of `--full`). */
export const STUDY_1205_ARMS: readonly ArmName[] = ['flow-grpo', 'dancegrpo', 'tcd', 'tcd-fixed', 'moca', 'otca'];

/** Where otca runs ('auto': CUDA where usable, else the CPU). Set by --device. */
export const advantageSettings: { device: 'auto' | 'cpu' | 'cuda' } = { device: 'auto' };

/** Wall time spent in the advantage step (the otca call with making its input tensors), for the summary. */
export const advantageTiming = { calls: 0, ms: 0 };

export interface StepAdvantages {
  /** [N, T] per-step advantages Adv[i, t]. */
  advantages: Float32Array;
  /**
   * The fixed-profile control only (it computes them to get its advantages): otca's step weights
   * w [N, T] (before the fixed-profile replacement), fused advantage f [N], alignment gains dS
   * [N, T], and the backend that computed them.
   */
  detail?: { stepWeights: Float32Array; fused: Float32Array; deltaS: Float32Array; backend: string };
}

/**
 * Per-step advantages from the rewards [N, K] and the sampler's T+1 states, each [N, D], of
 * groups of `groupSize` samples, for one arm.
 */
export async function stepAdvantages(
  arm: ArmName,
  rewards: Float32Array,
  K: number,
  states: readonly Float32Array[],
  N: number,
  D: number,
  groupSize: number,
): Promise<StepAdvantages> {
  const spec: Arm = ARMS[arm];
  const t0 = performance.now();
  // Every option the arm does not name at otca's defaults.
  const options = { ...spec.options, device: advantageSettings.device };
  let result: StepAdvantages;
  if (spec.fixedProfile) {
    // Zero-copy views of the sampler's states, in the list form (no interleaving).
    const latents = states.map((s) => Tensor.from(s, [N, D]));
    const out = otcaAdvantages(
      { rewards: Tensor.from(rewards, [N, K]), latents, groupSize },
      { ...options, outputs: ['advantages', 'deltaS', 'stepWeights', 'fused'] },
    );
    const T = states.length - 1;
    const [stepWeights, fused, deltaS] = [out.stepWeights!.data, out.fused!.data, out.deltaS!.data];
    result = { advantages: fixedProfileAdvantages(stepWeights, fused, N, T), detail: { stepWeights, fused, deltaS, backend: out.backend } };
  } else {
    result = { advantages: await tfAdvantages(rewards, K, states, N, D, groupSize, options) };
  }
  advantageTiming.calls++;
  advantageTiming.ms += performance.now() - t0;
  return result;
}

/**
 * `otcaAdvantagesTf` as a tfjs trainer calls it: the rewards as a `tf.Tensor2D` [N, K], the
 * states as the list of T+1 `tf.Tensor2D` [N, D]; every tensor made here is disposed here.
 */
async function tfAdvantages(
  rewards: Float32Array,
  K: number,
  states: readonly Float32Array[],
  N: number,
  D: number,
  groupSize: number,
  options: Arm['options'] & { device: OtcaOptions['device'] },
): Promise<Float32Array> {
  const tf = tfjs();
  const r = tf.tensor2d(rewards, [N, K]);
  const latents = states.map((s) => tf.tensor2d(s, [N, D]));
  let adv: TF.Tensor2D;
  try {
    adv = await otcaAdvantagesTf({ rewards: r, latents, groupSize }, options);
  } finally {
    tf.dispose([r, ...latents]);
  }
  try {
    return (await adv.data()) as Float32Array;
  } finally {
    adv.dispose();
  }
}

/** Adv[i, t] = (mean over samples j of w[j, t]) * f[i]: TCD's average profile without its per-sample part. */
export function fixedProfileAdvantages(w: ArrayLike<number>, fused: ArrayLike<number>, N: number, T: number): Float32Array {
  const profile = new Float64Array(T);
  for (let i = 0; i < N; i++) for (let t = 0; t < T; t++) profile[t] = profile[t]! + w[i * T + t]!;
  const adv = new Float32Array(N * T);
  for (let i = 0; i < N; i++) for (let t = 0; t < T; t++) adv[i * T + t] = (profile[t]! / N) * fused[i]!;
  return adv;
}
