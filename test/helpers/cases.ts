/**
 * Builds matching native and reference inputs for one test case, in either latent layout,
 * latent dtype and reward dtype, so a test reads as "this case, these options".
 */
import { Tensor } from '../../lib/index.js';
import type { ReferenceInput } from '../../lib/reference.js';
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
  input: { rewards: Tensor; latents: Tensor | Tensor[]; groupSize: number };
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
  const rewardsT = Tensor.from(r, [N, K], r instanceof Float64Array ? 'float64' : 'float32');
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
    input: { rewards: rewardsT, latents, groupSize: G },
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
