// The flow-grpo example's trainer on a tiny config: shapes, ratio 1 under unchanged parameters,
// a non-zero policy gradient, and per-step advantages equal to the float64 reference's (to 1e-5
// relative to the field's largest magnitude, as the parity tests measure it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceAdvantages } from '../../lib/reference.js';
import { VARIANTS, VARIANT_NAMES } from '../../examples/flow-grpo/advantages.js';
import { D, Rng } from '../../examples/flow-grpo/data.js';
import { VelocityNet } from '../../examples/flow-grpo/model.js';
import { K } from '../../examples/flow-grpo/rewards.js';
import { sdeRollout } from '../../examples/flow-grpo/sampler.js';
import { GrpoTrainer, type TrainConfig, evaluate, makeEvalSet } from '../../examples/flow-grpo/trainer.js';
import { initBackend, tfjs } from '../../examples/flow-grpo/tf.js';
import { expectClose } from '../helpers/compare.js';

const cfg: TrainConfig = { T: 4, G: 4, prompts: 2, eta: 0.7, lr: 1e-3, clipRange: 1e-4, minibatches: 2 };
const N = cfg.G * cfg.prompts;

describe('flow-grpo example trainer', () => {
  let net: VelocityNet;

  beforeAll(async () => {
    await initBackend('cpu');
    net = new VelocityNet({ hidden: 16 }, 3);
  });
  afterAll(() => net.dispose());

  it('gives ratio 1 for log-probabilities under unchanged parameters', () => {
    const tf = tfjs();
    const cls = new Int32Array(N).map((_, i) => i % 2);
    const r = sdeRollout(net, cls, cfg.T, cfg.eta, new Rng(11));
    expect(r.latents.length).toBe(N * (cfg.T + 1) * D);
    expect(r.logProbs.length).toBe(N * cfg.T);
    const trainer = new GrpoTrainer(net, 'otca', cfg, 5);
    const rows = { i: new Int32Array(N * cfg.T), t: new Int32Array(N * cfg.T) };
    for (let k = 0; k < N * cfg.T; k++) {
      rows.i[k] = Math.floor(k / cfg.T);
      rows.t[k] = k % cfg.T;
    }
    const lp = tf.tidy(() => trainer.logProbOf(r, rows).dataSync() as Float32Array);
    for (let k = 0; k < lp.length; k++) {
      expect(Math.abs(Math.exp(lp[k]! - r.logProbs[k]!) - 1)).toBeLessThan(1e-5);
    }
    trainer.dispose();
  });

  it.each(VARIANT_NAMES)('runs GRPO iterations (%s) with the reference advantages and a non-zero gradient', (variant) => {
    const before = net.getWeights();
    const trainer = new GrpoTrainer(net, variant, cfg, 7);
    for (let it = 0; it < 3; it++) {
      const d = trainer.step();
      expect(d.rollout.latents.length).toBe(N * (cfg.T + 1) * D);
      expect(d.rewardMatrix.length).toBe(N * K);
      expect(d.adv.advantages.length).toBe(N * cfg.T);
      expect(d.adv.deltaS.length).toBe(N * cfg.T);
      expect(d.adv.backend).toMatch(/^(cpu|cuda:\d+)$/);
      expect(d.stats.rewards).toHaveLength(K);
      expect(Number.isFinite(d.stats.loss)).toBe(true);
      // The first minibatch of an iteration runs before any update of that iteration.
      expect(d.stats.firstRatioError).toBeLessThan(1e-5);
      expect(d.stats.gradNorm).toBeGreaterThan(0);
      const { objective, temporal } = VARIANTS[variant];
      const ref = referenceAdvantages(
        { rewards: { data: d.rewardMatrix, shape: [N, K] }, latents: { data: d.rollout.latents, shape: [N, cfg.T + 1, D] }, groupSize: cfg.G },
        { objective, temporal },
      );
      expectClose(d.adv.advantages, ref.advantages, 1e-5, `${variant} advantages`);
      expectClose(d.adv.deltaS, ref.deltaS, 1e-5, `${variant} deltaS`);
    }
    const after = net.getWeights();
    expect(after.some((w, k) => w !== before[k])).toBe(true);
    trainer.dispose();
    net.setWeights(before);
  });

  it('evaluates deterministically on fixed prompts and seeds', () => {
    const set = makeEvalSet(2);
    const a = evaluate(net, set, cfg.T);
    const b = evaluate(net, set, cfg.T);
    expect(a.rewards).toHaveLength(K);
    expect(a.images.length).toBe(set.cls.length * D);
    expect(a.rewards).toEqual(b.rewards);
    expect(a.heldOut).toBe(b.heldOut);
  });
});
