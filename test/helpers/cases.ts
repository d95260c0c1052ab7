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
 * Compares every output field of a native result with the reference (see compare.ts for the
 * field-relative tolerance), plus phase 2 against the reference fed the native float32 q.
 *
 * One field is ill-conditioned by design: e = |q| / (std_g q + epsMoca) (eq. 12). Its relative
 * error is about eps_q * (1 + sqrt(2) * kappa) with kappa = max_i |q_i| / std_g q (the 'absolute'
 * e) and eps_q ~ 1e-7 the float32 error of q (phase 2 reads q rounded to float32, COMMON.md), so a
 * group whose q values nearly agree (kappa ~ 500) legitimately moves e by ~5e-5. For e only the
 * tolerance is max(tol, 4e-7 * (1 + kappa) / min(1, max e)); lam = tanh(e)... is well conditioned
 * (e sech^2 e <= 0.45) and keeps the plain tolerance. The second comparison (native phase 2 vs the
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
  for (const f of ALL_FIELDS) {
    const t = f === 'exploration' ? Math.max(tol, (4e-7 * (1 + kappa)) / Math.min(1, maxAbs(ref.exploration) || 1)) : tol;
    expectClose(dataOf(out, f), ref[f], t, `${label} ${f}`);
  }
  const phase2 = referenceObjectiveCredit(
    { rewards: c.rewardData, trajectoryScore: dataOf(out, 'trajectoryScore'), groupSize: G, K },
    options,
  );
  for (const f of OBJECTIVE_FIELDS) expectClose(dataOf(out, f), phase2[f], 1e-6, `${label} phase 2 on float32 q: ${f}`);
}
