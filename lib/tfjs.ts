/**
 * `otca/tfjs`: OTCA advantages straight from TensorFlow.js tensors, for trainers written with tfjs
 * (`@tensorflow/tfjs`, `@tensorflow/tfjs-node`). `@tensorflow/tfjs-core` is an optional peer
 * dependency: only this entry loads it, never `otca` itself.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { otcaAdvantagesTf } from 'otca/tfjs';
 * const adv = await otcaAdvantagesTf({ rewards, latents, groupSize: G });  // tf.Tensor2D [N, T]
 * ```
 * @packageDocumentation
 */
import './bundled.js'; // first: a bundled copy fails with otca's message (lib/bundled.ts)
import { tensor2d, type Tensor, type Tensor2D, type Tensor3D } from '@tensorflow/tfjs-core';

import { otcaAdvantagesAsync } from './api.js';
import { isTfTensor, rangeError, typeError } from './errors.js';
import type { OtcaOptions } from './options.js';
import { member, own } from './own.js';
import type { GroupsInput, OtcaInputs } from './step.js';
import { Tensor as OtcaTensor } from './tensor.js';
import { readOnce, readOptions } from './validate.js';

/**
 * The inputs of {@link otcaAdvantagesTf}: those of `otcaAdvantages`, as tfjs tensors, with the groups
 * as there: exactly one of `groupSize` (contiguous groups of G samples) and `groupIds` (each
 * sample's group id: an Int32Array or array of N integers >= 0).
 */
export type TfInputs = TfTensorInputs & GroupsInput;

/** The tensors of {@link TfInputs}. */
export interface TfTensorInputs {
  /** Rewards r [N, K], float32: K reward models' scores of each of the N samples. */
  rewards: Tensor2D;
  /**
   * The latent trajectory z: one `tf.Tensor3D` [N, T+1, D], or the list of T+1 `tf.Tensor2D` [N, D]
   * a sampler keeps (state 0 the initial noise, state T the final latent), float32.
   */
  latents: Tensor3D | readonly Tensor2D[];
}

/** The options of {@link otcaAdvantagesTf}: those of `otcaAdvantages` but `outputs` (it returns the advantages). */
export type TfOptions = Omit<OtcaOptions, 'outputs' | 'outputDevice'>;

/** A float32 tfjs tensor's values, read without blocking (`data()`), as an otca host Tensor. */
async function hostTensor(t: unknown, argument: string, rank: number): Promise<OtcaTensor<'float32'>> {
  if (!isTfTensor(t)) throw typeError(`tf.Tensor of rank ${rank}`, argument, t);
  const tf = t as Tensor;
  if (tf.dtype !== 'float32') throw typeError("a tf.Tensor of dtype 'float32'", argument, `dtype '${tf.dtype}'`, false);
  if (tf.shape.length !== rank) throw rangeError(`a tf.Tensor of rank ${rank}`, argument, `shape [${tf.shape.join(', ')}]`, false);
  if (tf.isDisposed) throw typeError('a live (not disposed) tf.Tensor', argument, 'a disposed tf.Tensor', false);
  return OtcaTensor.from((await tf.data()) as Float32Array, tf.shape);
}

/**
 * OTCA per-step advantages from tfjs tensors: `otcaAdvantagesAsync` on the tensors' values, the
 * result as a new `tf.Tensor2D` [N, T] (dispose it when done, as any tfjs tensor). The values are
 * read with `data()`, so a GPU backend (webgl, webgpu) downloads them without blocking; the
 * computation runs on otca's own backends (`options.device`: the CPU, or CUDA where usable).
 * @param inputs - `{ rewards [N, K], latents [N, T+1, D] or T+1 x [N, D], groupSize }` (float32),
 *   or with `groupIds` instead of `groupSize`, as for `otcaAdvantages`.
 * @param options - the options of `otcaAdvantages` (objective, temporal, minWeight, ...), read once
 *   when the call starts as there (own enumerable properties; `outputs` and `outputDevice` are set
 *   by this function).
 * @returns Adv [N, T], float32: step t of sample i gets `w[i,t] * f[i]`.
 * @throws TypeError / RangeError naming the argument on bad input (a rejected promise).
 * @example
 * ```ts
 * const states: tf.Tensor2D[] = [z0];                 // the sampler's states, [N, D] each
 * for (let t = 0; t < T; t++) states.push(step(states[t], t));
 * const rewards = tf.tensor2d(scores, [N, K]);
 * const adv = await otcaAdvantagesTf({ rewards, latents: states, groupSize: G }, { objective: 'moca' });
 * ```
 */
export async function otcaAdvantagesTf(inputs: TfInputs, options?: TfOptions): Promise<Tensor2D> {
  if (typeof inputs !== 'object' || inputs === null) throw typeError('{ rewards, latents, groupSize or groupIds }', 'inputs', inputs);
  // read once, when the call starts (as every call reads them: validate.ts readOptions)
  const opts = { ...readOptions(options), outputs: 'advantages', outputDevice: 'cpu' } as OtcaOptions & { outputs: 'advantages' };
  const groupSize = member(inputs, 'groupSize');
  const groupIds = readOnce(member(inputs, 'groupIds'));  // as they are now, not once the tensors' data came
  const latents: unknown = member(inputs, 'latents');
  const rewards = hostTensor(member(inputs, 'rewards'), 'rewards', 2);
  let states: Promise<OtcaTensor<'float32'> | OtcaTensor<'float32'>[]>;
  if (Array.isArray(latents)) {
    const list = Array.from({ length: latents.length }, (_, j) => hostTensor(own(latents, j), `latents[${j}]`, 2));
    states = Promise.all(list);
  } else {
    states = hostTensor(latents, 'latents', 3);
  }
  const [r, z] = await Promise.all([rewards, states]);
  // the groups go as given, so that they are checked as by otcaAdvantages (exactly one of the two)
  const groups = { groupSize, groupIds } as unknown as GroupsInput;
  const out = await otcaAdvantagesAsync({ rewards: r, latents: z, ...groups } as OtcaInputs, opts);
  const adv = out.advantages;
  return tensor2d(adv.data, adv.shape as [number, number], 'float32');
}
