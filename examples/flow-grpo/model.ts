/**
 * The base generator: a class-conditional rectified-flow velocity network, a 3-layer SiLU MLP over
 * [image (D), time features (16), class one-hot (4)] plus a skip term s(sigma) z. Convention as in Flow-GRPO / SD3:
 * z_sigma = (1 - sigma) x0 + sigma * noise, sigma = 1 is pure noise, and the net predicts the
 * velocity v = noise - x0, so x0-hat = z - sigma * v.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type * as TF from '@tensorflow/tfjs';
import { D, NUM_CLASSES, Rng } from './data.js';
import { tfjs } from './tf.js';

const FREQS = 8;
const IN = D + 2 * FREQS + NUM_CLASSES;

export interface ModelConfig {
  /** Hidden width. */
  hidden: number;
}

export class VelocityNet {
  readonly hidden: number;
  readonly vars: TF.Variable[];

  constructor(config: ModelConfig, seed = 1) {
    const tf = tfjs();
    this.hidden = config.hidden;
    const rng = new Rng(seed);
    const H = config.hidden;
    const dense = (fanIn: number, fanOut: number, gain: number): TF.Variable[] => {
      const w = new Float32Array(fanIn * fanOut);
      const s = gain / Math.sqrt(fanIn);
      for (let k = 0; k < w.length; k++) w[k] = s * rng.normal();
      return [
        tf.variable(tf.tensor2d(w, [fanIn, fanOut]), true),
        tf.variable(tf.zeros([1, fanOut]), true),
      ];
    };
    // The last pair is the skip: a per-time scalar times z added to the output (see forward).
    this.vars = [...dense(IN, H, 1.4), ...dense(H, H, 1.4), ...dense(H, D, 0.5), ...dense(2 * FREQS, 1, 0.1)];
  }

  /** Number of scalar parameters. */
  get size(): number {
    return this.vars.reduce((a, v) => a + v.size, 0);
  }

  /**
   * Velocity v(z, sigma, class) for a batch: z [n, D], sigma [n] (Float32Array), cls [n].
   * Call inside tf.tidy (or a gradient function).
   */
  forward(z: TF.Tensor2D, sigma: Float32Array, cls: Int32Array): TF.Tensor2D {
    const tf = tfjs();
    const n = sigma.length;
    const feats = new Float32Array(n * (2 * FREQS + NUM_CLASSES));
    const F = 2 * FREQS + NUM_CLASSES;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < FREQS; k++) {
        const a = sigma[i]! * Math.PI * (k + 1) * 0.5;
        feats[i * F + 2 * k] = Math.sin(a);
        feats[i * F + 2 * k + 1] = Math.cos(a);
      }
      feats[i * F + 2 * FREQS + cls[i]!] = 1;
    }
    const [w1, b1, w2, b2, w3, b3, ws, bs] = this.vars as TF.Variable[] as [TF.Variable, TF.Variable, TF.Variable, TF.Variable, TF.Variable, TF.Variable, TF.Variable, TF.Variable];
    const f = tf.tensor2d(feats, [n, F]);
    const x = tf.concat([z, f], 1);
    const silu = (h: TF.Tensor): TF.Tensor => tf.mul(h, tf.sigmoid(h));
    const h1 = silu(tf.add(tf.matMul(x, w1), b1));
    const h2 = silu(tf.add(tf.matMul(h1, w2), b2));
    // Skip: the velocity's part that is a multiple of z itself (at low sigma, v ~ (z - x0) / sigma
    // carries z's detail, which a narrow hidden layer cannot pass through).
    const skip = tf.add(tf.matMul(f.slice([0, 0], [n, 2 * FREQS]), ws), bs);
    return tf.add(tf.add(tf.matMul(h2, w3), b3), tf.mul(skip, z)) as TF.Tensor2D;
  }

  /** All parameters, flattened in a fixed order. */
  getWeights(): Float32Array {
    const out = new Float32Array(this.size);
    let o = 0;
    for (const v of this.vars) {
      const d = v.dataSync() as Float32Array;
      out.set(d, o);
      o += d.length;
    }
    return out;
  }

  setWeights(w: Float32Array): void {
    const tf = tfjs();
    if (w.length !== this.size) {
      throw new RangeError(`Expected ${this.size} parameters (hidden ${this.hidden}) for weights but received ${w.length}`);
    }
    let o = 0;
    for (const v of this.vars) {
      v.assign(tf.tensor(w.slice(o, o + v.size), v.shape));
      o += v.size;
    }
  }

  save(path: string): void {
    const w = this.getWeights();
    writeFileSync(path, Buffer.from(w.buffer, w.byteOffset, w.byteLength));
  }

  load(path: string): void {
    const buf = readFileSync(path);
    const w = new Float32Array(buf.byteLength / 4);
    new Uint8Array(w.buffer).set(buf);
    this.setWeights(w);
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
  }
}
