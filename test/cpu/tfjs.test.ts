// otca/tfjs: tf.Tensors in, a tf.Tensor2D of advantages out, equal to otcaAdvantages on the same
// values for both latent layouts and any options; its errors; and the main API's error for a
// tf.Tensor, which names otcaAdvantagesTf.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';

import { otcaAdvantages, Tensor } from '../../lib/index.js';
import { otcaAdvantagesTf } from '../../lib/tfjs.js';
import { rng } from '../helpers/random.js';

const N = 6, G = 3, T = 4, D = 16, K = 2;
const rand = rng(7);
const rew = new Float32Array(N * K).map(() => rand() * 2 - 1);
const lat = new Float32Array(N * (T + 1) * D).map(() => rand() * 2 - 1);
const want = (options = {}) =>
  otcaAdvantages({ rewards: Tensor.from(rew, [N, K]), latents: Tensor.from(lat, [N, T + 1, D]), groupSize: G }, options).advantages.data;

describe('otcaAdvantagesTf', () => {
  beforeAll(async () => {
    tf.env().set('PROD', true); // no "install tfjs-node" banner
    await tf.setBackend('cpu');
  });

  it('gives otcaAdvantages bit for bit, from a Tensor3D or a list of Tensor2D states', async () => {
    const rewards = tf.tensor2d(rew, [N, K]);
    const stacked = tf.tensor3d(lat, [N, T + 1, D]);
    const states = tf.unstack(stacked, 1) as tf.Tensor2D[];
    for (const options of [{}, { objective: 'min-norm' as const, minWeight: 0 }]) {
      const expected = Array.from(want(options));
      const a = await otcaAdvantagesTf({ rewards, latents: stacked, groupSize: G }, options);
      const b = await otcaAdvantagesTf({ rewards, latents: states, groupSize: G }, options);
      expect(a.shape).toEqual([N, T]);
      expect(a.dtype).toBe('float32');
      expect(Array.from(a.dataSync())).toEqual(expected);
      expect(Array.from(b.dataSync())).toEqual(expected);
      a.dispose();
      b.dispose();
    }
    tf.dispose([rewards, stacked, ...states]);
  });

  it('rejects what it cannot use, naming the argument', async () => {
    const rewards = tf.tensor2d(rew, [N, K]);
    const latents = tf.tensor3d(lat, [N, T + 1, D]);
    await expect(otcaAdvantagesTf({ rewards: tf.tensor2d(rew, [N, K], 'int32'), latents, groupSize: G })).rejects.toThrow(
      "Expected a tf.Tensor of dtype 'float32' for rewards but received dtype 'int32'",
    );
    await expect(otcaAdvantagesTf({ rewards, latents: tf.tensor2d(lat, [N, (T + 1) * D]) as never, groupSize: G })).rejects.toThrow(
      RangeError,
    );
    await expect(otcaAdvantagesTf({ rewards: rew as never, latents, groupSize: G })).rejects.toThrow('Expected tf.Tensor of rank 2 for rewards');
    await expect(otcaAdvantagesTf({ rewards, latents, groupSize: 4 })).rejects.toThrow(/groupSize/);
    const gone = tf.tensor2d(rew, [N, K]);
    gone.dispose();
    await expect(otcaAdvantagesTf({ rewards: gone, latents, groupSize: G })).rejects.toThrow('disposed');
  });

  it('takes groupIds exactly as otcaAdvantages: alone they work, beside groupSize they are refused with its message', async () => {
    const rewards = tf.tensor2d(rew, [N, K]);
    const latents = tf.tensor3d(lat, [N, T + 1, D]);
    const host = { rewards: Tensor.from(rew, [N, K]), latents: Tensor.from(lat, [N, T + 1, D]) };
    for (const groupIds of [Int32Array.from([4, 1, 4, 1, 0, 0]), [2, 2, 2, 9, 9, 9]]) {
      const expected = Array.from(otcaAdvantages({ ...host, groupIds }).advantages.data);
      const a = await otcaAdvantagesTf({ rewards, latents, groupIds });
      expect(Array.from(a.dataSync())).toEqual(expected);
      a.dispose();
    }
    // contiguous ids give the groupSize result, as in the main API
    const blocks = await otcaAdvantagesTf({ rewards, latents, groupIds: [0, 0, 0, 1, 1, 1] });
    expect(Array.from(blocks.dataSync())).toEqual(Array.from(want()));
    blocks.dispose();
    // the ids are read when the call starts, not once the tensors' data came
    const ids = Int32Array.from([0, 0, 0, 1, 1, 1]);
    const pending = otcaAdvantagesTf({ rewards, latents, groupIds: ids });
    ids.fill(5, 0, 2);
    const read = await pending;
    expect(Array.from(read.dataSync())).toEqual(Array.from(want()));
    read.dispose();
    const both = () => otcaAdvantages({ ...host, groupSize: G, groupIds: [0, 0, 0, 1, 1, 1] } as never);
    expect(both).toThrow('Expected exactly one of groupSize and groupIds for inputs but received both');
    await expect(otcaAdvantagesTf({ rewards, latents, groupSize: G, groupIds: [0, 0, 0, 1, 1, 1] } as never)).rejects.toThrow(
      'Expected exactly one of groupSize and groupIds for inputs but received both',
    );
    await expect(otcaAdvantagesTf({ rewards, latents } as never)).rejects.toThrow(
      'Expected exactly one of groupSize and groupIds for inputs but received neither',
    );
    await expect(otcaAdvantagesTf({ rewards, latents, groupIds: [0, -1, 0, 1, 1, 1] })).rejects.toThrow(
      'Expected integers in [0, 2^31 - 1] for groupIds but received -1 at sample 1',
    );
    tf.dispose([rewards, latents]);
  });

  it('the main API names otcaAdvantagesTf when given a tf.Tensor', () => {
    const latents = Tensor.from(lat, [N, T + 1, D]);
    expect(() => otcaAdvantages({ rewards: tf.tensor2d(rew, [N, K]) as never, latents, groupSize: G })).toThrow(
      "Expected Tensor [N, K] (float32 or float64) for rewards but received a tf.Tensor (float32, [6, 2]); tfjs tensors go to otcaAdvantagesTf from 'otca/tfjs'",
    );
    expect(() => otcaAdvantages({ rewards: Tensor.from(rew, [N, K]), latents: tf.tensor3d(lat, [N, T + 1, D]) as never, groupSize: G })).toThrow(
      /for latents but received a tf\.Tensor \(float32, \[6, 5, 16\]\); tfjs tensors go to otcaAdvantagesTf/,
    );
  });
});
