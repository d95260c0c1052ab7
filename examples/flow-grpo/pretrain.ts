/**
 * Pre-training of the base model by rectified-flow matching on the procedural images:
 * z = (1 - sigma) x0 + sigma * eps, loss |v(z, sigma, c) - (eps - x0)|^2, Adam.
 *
 * `node dist/examples/flow-grpo/pretrain.js [--steps N] [--out path]` writes the shipped weights
 * file (weights/base-h192.bin, about 7 minutes on one core); `npm run demo -- --pretrain` runs the
 * same pre-training inline.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { D, Rng, sampleBatch } from './data.js';
import { VelocityNet } from './model.js';
import { initBackend, tfjs } from './tf.js';

export const HIDDEN = 192;
export const WEIGHTS_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'flow-grpo', 'weights', `base-h${HIDDEN}.bin`);

export interface PretrainConfig {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
}

export const PRETRAIN_DEFAULTS: PretrainConfig = { steps: 12000, batch: 128, lr: 2e-3, seed: 2026 };

/** Train `net` in place; returns the final smoothed loss. */
export function pretrain(
  net: VelocityNet,
  cfg: PretrainConfig = PRETRAIN_DEFAULTS,
  onStep?: (step: number, loss: number) => void,
): number {
  const tf = tfjs();
  const rng = new Rng(cfg.seed);
  const opt = tf.train.adam(cfg.lr);
  let ema = NaN;
  for (let s = 0; s < cfg.steps; s++) {
    // cosine decay of the learning rate to 5% of its start
    (opt as unknown as { learningRate: number }).learningRate =
      cfg.lr * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * s) / cfg.steps)));
    const { x, cls } = sampleBatch(cfg.batch, rng);
    const n = cfg.batch;
    const eps = rng.normals(new Float32Array(n * D));
    const sig = new Float32Array(n);
    const z = new Float32Array(n * D);
    const target = new Float32Array(n * D);
    for (let i = 0; i < n; i++) {
      sig[i] = rng.uniform();
      for (let p = 0; p < D; p++) {
        const k = i * D + p;
        z[k] = (1 - sig[i]!) * x[k]! + sig[i]! * eps[k]!;
        target[k] = eps[k]! - x[k]!;
      }
    }
    const loss = tf.tidy(() => {
      const zt = tf.tensor2d(z, [n, D]);
      const tt = tf.tensor2d(target, [n, D]);
      const cost = opt.minimize(() => tf.mean(tf.square(tf.sub(net.forward(zt, sig, cls), tt))) as import('@tensorflow/tfjs').Scalar, true, net.vars);
      return cost!.dataSync()[0]!;
    });
    ema = Number.isNaN(ema) ? loss : 0.98 * ema + 0.02 * loss;
    onStep?.(s, ema);
  }
  opt.dispose();
  return ema;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const k = args.indexOf(name);
    return k >= 0 ? args[k + 1] : undefined;
  };
  const cfg = { ...PRETRAIN_DEFAULTS, steps: Number(arg('--steps') ?? PRETRAIN_DEFAULTS.steps) };
  const out = arg('--out') ?? WEIGHTS_PATH;
  const backend = await initBackend((arg('--backend') as 'wasm' | 'cpu') ?? 'wasm');
  const net = new VelocityNet({ hidden: HIDDEN }, cfg.seed);
  const t0 = performance.now();
  const loss = pretrain(net, cfg, (s, l) => {
    if (s % 250 === 0) console.log(`step ${s} loss ${l.toFixed(4)}`);
  });
  net.save(out);
  console.log(`pretrained ${net.size} parameters on ${backend} in ${((performance.now() - t0) / 1000).toFixed(1)} s, loss ${loss.toFixed(4)} -> ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
}
