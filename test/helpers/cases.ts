/**
 * Builds matching native and reference inputs for one test case, in either latent layout,
 * latent dtype and reward dtype, so a test reads as "this case, these options".
 */
import { Tensor, type OtcaInputs } from '../../lib/index.js';
import {
  referenceObjectiveCredit,
  type ReferenceInput,
  type ReferenceOptions,
  type ReferenceResult,
} from '../../lib/reference.js';
import { expectClose, maxAbs } from './compare.js';
import { encode } from './encode.js';
import { rewards as randomRewards, toStates, trajectories, type TrajectoryOptions } from './random.js';

export const TRAJECTORY_FIELDS = ['similarity', 'deltaS', 'rawWeights', 'stepWeights', 'trajectoryScore'] as const;
export const OBJECTIVE_FIELDS = ['objectiveAdvantages', 'exploration', 'lambda', 'coefficients', 'fused'] as const;
export const ALL_FIELDS = ['advantages', ...TRAJECTORY_FIELDS, ...OBJECTIVE_FIELDS] as const;
export type Field = (typeof ALL_FIELDS)[number];

export type LatentDtype = 'float32' | 'float16' | 'bfloat16';
export type Layout = 'stacked' | 'list';

export interface CaseSpec {
  seed: number;
  N: number;
  G: number;
  T: number;
  D: number;
  K: number;
  layout?: Layout;
  latentDtype?: LatentDtype;
  rewardDtype?: 'float32' | 'float64';
  kind?: TrajectoryOptions['kind'];
  /** Overrides: raw latent values (flat [N, T+1, D]) and rewards (row-major [N, K]). */
  latentValues?: Float32Array;
  rewardValues?: Float32Array | Float64Array;
}

export interface Case {
  spec: Required<Omit<CaseSpec, 'latentValues' | 'rewardValues'>>;
  /** Native input: Tensors. */
  input: OtcaInputs & { rewards: Tensor<'float32' | 'float64'> };
  /** Reference input: the very same bits (as tensor-likes, so float16/bfloat16 are decoded exactly). */
  ref: ReferenceInput;
  /** The raw arrays, kept alive by the test. */
  latentData: (Float32Array | Uint16Array)[];
  rewardData: Float32Array | Float64Array;
}

export function makeCase(s: CaseSpec): Case {
  const spec = {
    layout: 'stacked' as Layout,
    latentDtype: 'float32' as LatentDtype,
    rewardDtype: 'float32' as 'float32' | 'float64',
    kind: 'realistic' as 'realistic' | 'random',
    ...s,
  };
  const { N, T, D, K, G } = spec;
  const flat = s.latentValues ?? trajectories(spec.seed, N, T, D, { kind: spec.kind });
  const r = s.rewardValues ?? randomRewards(spec.seed + 1, N, K, spec.rewardDtype);
  const rewardsT = r instanceof Float64Array ? Tensor.from(r, [N, K], 'float64') : Tensor.from(r, [N, K], 'float32');
  const enc = (a: Float32Array): Float32Array | Uint16Array =>
    spec.latentDtype === 'float32' ? a : encode(a, spec.latentDtype);
  let latents: Tensor | Tensor[];
  let refLatents: ReferenceInput['latents'];
  let latentData: (Float32Array | Uint16Array)[];
  if (spec.layout === 'stacked') {
    const data = enc(flat);
    latentData = [data];
    latents = Tensor.from(data, [N, T + 1, D], spec.latentDtype);
    refLatents = { data, shape: [N, T + 1, D], dtype: spec.latentDtype };
  } else {
    latentData = toStates(flat, N, T, D).map(enc);
    latents = latentData.map((d) => Tensor.from(d, [N, D], spec.latentDtype));
    refLatents = latentData.map((d) => ({ data: d, shape: [N, D], dtype: spec.latentDtype }));
  }
  return {
    spec: { ...spec },
    input: { rewards: rewardsT, latents, groupSize: G } as OtcaInputs & { rewards: Tensor<'float32' | 'float64'> },
    ref: { rewards: r, K, latents: refLatents, N, T, D, groupSize: G },
    latentData,
    rewardData: r,
  };
}

/** The Float32Array behind a result field (throws a clear message if it is missing). */
export function dataOf(result: unknown, field: string): Float32Array {
  const t = (result as Record<string, { data: Float32Array } | undefined>)[field];
  if (!t) throw new Error(`result has no field ${field}`);
  return t.data;
}

/**
 * Absolute error bounds, per field, of the step weights that come from S through a normalisation.
 * float32 latents are multiplied in float32 (docs/algorithm.md: float32 accumulation), so each cosine S carries an
 * absolute error up to about dS32 = 2e-7 whatever D (Cauchy-Schwarz bounds the rounded products by
 * |z_j||z_T|); dS then up to 2 dS32. wbar_t = u_t / sum_s u_s (eq. 8) divides by sum_s u_s, which is
 * tiny for a trajectory that barely gains alignment (seen: D = 2, T = 7, wbar 0.75 off by 1.1e-5):
 * |d wbar_t| <= (|d dS_t| + wbar_t sum_s |d dS_s|) / sum_s u_s <= 2 dS32 (1 + T wbar_t) / sum_s u_s.
 * w, q and Adv follow from wbar by their formulas. Each field's bound is the largest over its elements;
 * for a trajectory that gains O(1) alignment it stays under the plain tolerance, so only
 * ill-conditioned samples get more room. Derived, never fitted.
 */
function trajectoryErrorBounds(
  ref: ReferenceResult,
  T: number,
  options: ReferenceOptions,
): Partial<Record<Field, number>> {
  const dS32 = 2e-7;
  const epsTcd = options.epsTcd ?? 1e-6;
  const minWeight = options.minWeight ?? 0.5;
  const wScale = ((options.temporal ?? 'tcd') === 'tcd' ? (1 - minWeight) * T : 0) *
    ((options.weightScale ?? 'mean') === 'sum' ? 1 / T : 1);
  let wbar = 0;
  let q = 0;
  let adv = 0;
  const N = ref.trajectoryScore.length;
  for (let i = 0; i < N; i++) {
    let sumU = 0;
    for (let t = 0; t < T; t++) sumU += Math.max(0, ref.deltaS[i * T + t]!) + epsTcd;
    let dq = 2 * dS32;
    for (let t = 0; t < T; t++) {
      const bw = (2 * dS32 * (1 + T * ref.rawWeights[i * T + t]!)) / sumU;
      wbar = Math.max(wbar, bw);
      dq += bw * Math.abs(ref.deltaS[i * T + t]!);
      adv = Math.max(adv, bw * wScale * Math.abs(ref.fused[i]!));
    }
    q = Math.max(q, dq);
  }
  return { deltaS: 2 * dS32, rawWeights: wbar, stepWeights: wbar * wScale, trajectoryScore: q, advantages: adv };
}

/**
 * Compares every output field of a native result with the reference (see compare.ts for the
 * field-relative tolerance), plus phase 2 against the reference fed the native float32 q.
 *
 * One field is ill-conditioned by design: e = |q| / (std_g q + epsMoca) (eq. 12). Its relative
 * error is about eps_q * (1 + sqrt(2) * kappa) with kappa = max_i |q_i| / std_g q (the 'absolute'
 * e) and eps_q ~ 1e-7 the float32 error of q (phase 2 reads q rounded to float32: docs/algorithm.md), so a
 * group whose q values nearly agree (kappa ~ 500) legitimately moves e by ~5e-5. For e the
 * tolerance is max(tol, eAbs / min(1, max e)), eAbs adding the reduction's own error on q
 * (trajectoryErrorBounds); lambda and f, which follow e through tanh and zhat = lam / 2, get the
 * same absolute bound (lambda) and half of it (f), and Adv and an interpolated c what follows from f. The second comparison (native phase 2 vs the
 * reference's phase 2 on the same float32 q) holds every objective field, e included, to 1e-6.
 */
export function expectMatchesReference(
  out: unknown,
  ref: ReferenceResult,
  c: Case,
  options: ReferenceOptions,
  tol: number,
  label: string,
): void {
  const { G, K } = c.spec;
  const kappa = maxAbs(
    referenceObjectiveCredit(
      { rewards: c.rewardData, trajectoryScore: ref.trajectoryScore, groupSize: G, K },
      { ...options, explorationSignal: 'absolute' },
    ).exploration,
  );
  const bounds = trajectoryErrorBounds(ref, c.spec.T, options);
  // e's absolute error: q's float32 rounding (4e-7 relative) and the reduction's error on q
  // (bounds.trajectoryScore), each magnified by 1/std_g q (kappa / max |q|). lambda = relu(s) /
  // (|s| + eps) * tanh(e) moves by at most as much (tanh' <= 1), and f = zhat = lam / 2 (clipped) by half.
  const maxQ = maxAbs(ref.trajectoryScore);
  const eAbs = 4e-7 * (1 + kappa) + (maxQ > 0 ? (2 * (bounds.trajectoryScore ?? 0) * kappa) / maxQ : 0);
  bounds.lambda = eAbs;
  bounds.fused = eAbs / 2;
  // Adv = w f moves by dw |f| (bounds.advantages) and by |w| df.
  bounds.advantages = (bounds.advantages ?? 0) + maxAbs(ref.stepWeights) * bounds.fused;
  // An interpolated c (step 3 of Algorithm 1: c_hi = (zhat - lo) / (hi - lo)) moves by dzhat / (hi - lo).
  let dc = 0;
  for (let i = 0; i < ref.fused.length; i++) {
    const inside: number[] = [];
    for (let k = 0; k < K; k++) {
      const v = ref.coefficients[i * K + k]!;
      if (v > 0 && v < 1) inside.push(ref.objectiveAdvantages[i * K + k]!);
    }
    if (inside.length === 2) dc = Math.max(dc, Math.min(1, bounds.fused / Math.abs(inside[0]! - inside[1]!)));
  }
  bounds.coefficients = dc;
  for (const f of ALL_FIELDS) {
    let t = f === 'exploration' ? Math.max(tol, eAbs / Math.min(1, maxAbs(ref.exploration) || 1)) : tol;
    const bound = bounds[f];
    if (bound !== undefined) t = Math.max(t, bound / Math.max(maxAbs(ref[f]), 1e-30));
    expectClose(dataOf(out, f), ref[f], t, `${label} ${f}`);
  }
  const phase2 = referenceObjectiveCredit(
    { rewards: c.rewardData, trajectoryScore: dataOf(out, 'trajectoryScore'), groupSize: G, K },
    options,
  );
  for (const f of OBJECTIVE_FIELDS) expectClose(dataOf(out, f), phase2[f], 1e-6, `${label} phase 2 on float32 q: ${f}`);
}
