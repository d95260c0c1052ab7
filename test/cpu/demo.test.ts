// The flow-grpo example on a tiny config: its trainer (shapes, ratio 1 under unchanged parameters,
// a non-zero policy gradient, per-step advantages equal to the float64 reference's for every arm
// and bit-identical to otca's on the interleaved [N, T+1, D] tensor, one initial noise per group,
// common random numbers across arms, no tfjs tensor left behind per iteration), its per-step
// credit (ODE completions), its statistics (against scipy's values) and its command line.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tensor, otcaAdvantages } from '../../lib/index.js';
import { referenceAdvantages } from '../../lib/reference.js';
import { ARMS, ARM_NAMES, fixedProfileAdvantages, stepAdvantages } from '../../examples/flow-grpo/advantages.js';
import { USAGE, UsageError, parseCli } from '../../examples/flow-grpo/cli.js';
import { creditStudy, mocaBehaviour } from '../../examples/flow-grpo/credit.js';
import { D, Rng } from '../../examples/flow-grpo/data.js';
import { VelocityNet } from '../../examples/flow-grpo/model.js';
import { K, REWARD_NAMES } from '../../examples/flow-grpo/rewards.js';
import { odeCompletions, odeSample, sdeCoefs, sdeRollout, sigmaSchedule } from '../../examples/flow-grpo/sampler.js';
import { holm, pairedTests, wilcoxonSignedRank } from '../../examples/flow-grpo/stats.js';
import { type BaseEval, type BaseSpread, type RunRecord, analyse, atMatchedFidelity } from '../../examples/flow-grpo/study.js';
import { GrpoTrainer, type TrainConfig, evaluate, groupNoise, makeEvalSet } from '../../examples/flow-grpo/trainer.js';
import { initBackend, tfjs } from '../../examples/flow-grpo/tf.js';
import { expectClose } from '../helpers/compare.js';

const cfg: TrainConfig = { T: 4, G: 4, prompts: 2, eta: 0.3, shift: 3, lr: 1e-3, clipRange: 1e-4, minibatches: 2 };
const N = cfg.G * cfg.prompts;

/** The sampler's list of T+1 states [N, D] interleaved into one [N, T+1, D] buffer (what the demo did before it passed the list). */
function interleave(states: readonly Float32Array[]): Float32Array {
  const S = states.length;
  const out = new Float32Array(N * S * D);
  for (let i = 0; i < N; i++) for (let j = 0; j < S; j++) out.set(states[j]!.subarray(i * D, (i + 1) * D), (i * S + j) * D);
  return out;
}

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
    const r = sdeRollout(net, cls, groupNoise(N, cfg.G, new Rng(10)), sdeCoefs(cfg), new Rng(11));
    expect(r.states).toHaveLength(cfg.T + 1);
    for (const s of r.states) expect(s.length).toBe(N * D);
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

  it('follows DanceGRPO\'s flux_step: shifted schedule, mean a z + b v, noise eta sqrt(-dsigma)', () => {
    const c = sdeCoefs({ T: 4, eta: 0.3, shift: 3 });
    // sigmas = 3 s / (1 + 2 s) at s = 1, .75, .5, .25, 0
    expect(Array.from(c.sigmas)).toEqual(Array.from(new Float32Array([1, 2.25 / 2.5, 1.5 / 2, 0.75 / 1.5, 0])));
    const [s0, s1] = [c.sigmas[1]!, c.sigmas[2]!];
    const ds = s1 - s0;
    expect(c.c[1]).toBeCloseTo(0.3 * Math.sqrt(-ds), 6);
    expect(c.a[1]).toBeCloseTo(1 + (0.09 * ds) / (2 * s0), 6);
    expect(c.b[1]).toBeCloseTo(ds * (1 + (0.09 * (1 - s0)) / (2 * s0)), 6);
  });

  it.each(ARM_NAMES)('runs GRPO iterations (%s) with the reference advantages and a non-zero gradient', async (arm) => {
    const before = net.getWeights();
    const trainer = new GrpoTrainer(net, arm, cfg, 7);
    for (let it = 0; it < 2; it++) {
      const d = await trainer.step();
      expect(d.rollout.states).toHaveLength(cfg.T + 1);
      expect(d.rewardMatrix.length).toBe(N * K);
      expect(d.adv.advantages.length).toBe(N * cfg.T);
      // Only the fixed-profile control computes otca's other outputs (through otcaAdvantages).
      expect(d.adv.detail === undefined).toBe(!('fixedProfile' in ARMS[arm]));
      if (d.adv.detail) expect(d.adv.detail.backend).toMatch(/^(cpu|cuda:\d+)$/);
      expect(d.stats.rewards).toHaveLength(K);
      expect(Number.isFinite(d.stats.loss)).toBe(true);
      // The first minibatch of an iteration runs before any update of that iteration.
      expect(d.stats.firstRatioError).toBeLessThan(1e-5);
      expect(d.stats.gradNorm).toBeGreaterThan(0);
      const spec = ARMS[arm];
      const ref = referenceAdvantages(
        { rewards: { data: d.rewardMatrix, shape: [N, K] }, latents: d.rollout.states, N, groupSize: cfg.G },
        { ...spec.options, outputs: 'all' },
      );
      const expected = 'fixedProfile' in spec ? fixedProfileAdvantages(ref.stepWeights!, ref.fused!, N, cfg.T) : ref.advantages;
      expectClose(d.adv.advantages, expected, 1e-5, `${arm} advantages`);
      if (d.adv.detail) {
        expectClose(d.adv.detail.deltaS, ref.deltaS!, 1e-5, `${arm} deltaS`);
        expectClose(d.adv.detail.stepWeights, ref.stepWeights!, 1e-5, `${arm} stepWeights`);
        expectClose(d.adv.detail.fused, ref.fused!, 1e-5, `${arm} fused`);
      }
    }
    expect(net.getWeights().some((w, k) => w !== before[k])).toBe(true);
    trainer.dispose();
    net.setWeights(before);
  });

  it('gives every arm the same advantages, bit for bit, as otcaAdvantages on the interleaved [N, T+1, D] tensor', async () => {
    const cls = new Int32Array(N).map((_, i) => i % 2);
    const r = sdeRollout(net, cls, groupNoise(N, cfg.G, new Rng(30)), sdeCoefs(cfg), new Rng(31));
    const rewards = Float32Array.from({ length: N * K }, (_, m) => Math.sin(1.7 * m + 0.3) * 2);
    const latents = Tensor.from(interleave(r.states), [N, cfg.T + 1, D]);
    for (const arm of ARM_NAMES) {
      const spec = ARMS[arm];
      const got = await stepAdvantages(arm, rewards, K, r.states, N, D, cfg.G);
      const out = otcaAdvantages(
        { rewards: Tensor.from(rewards, [N, K]), latents, groupSize: cfg.G },
        { ...spec.options, outputs: ['advantages', 'stepWeights', 'fused'] },
      );
      const want = 'fixedProfile' in spec ? fixedProfileAdvantages(out.stepWeights!.data, out.fused!.data, N, cfg.T) : out.advantages.data;
      expect(got.advantages, arm).toEqual(want);
    }
  });

  it('leaves no tfjs tensor behind per iteration', async () => {
    const tf = tfjs();
    const before = net.getWeights();
    for (const arm of ['otca', 'tcd-fixed'] as const) {
      const trainer = new GrpoTrainer(net, arm, cfg, 17);
      await trainer.step(); // Adam makes its slots on its first update
      const count = tf.memory().numTensors;
      for (let it = 0; it < 3; it++) {
        await trainer.step();
        expect(tf.memory().numTensors, `${arm}, iteration ${it + 2}`).toBe(count);
      }
      trainer.dispose();
      net.setWeights(before);
    }
  });

  it('draws one initial noise per group and the same random numbers for every arm of a seed', async () => {
    const before = net.getWeights();
    const run = async (arm: (typeof ARM_NAMES)[number]): Promise<Float32Array[]> => {
      const trainer = new GrpoTrainer(net, arm, cfg, 21);
      const states = (await trainer.step()).rollout.states;
      trainer.dispose();
      net.setWeights(before);
      return states;
    };
    const a = await run('dancegrpo');
    const b = await run('otca');
    // Same parameters at the first iteration and the same streams: identical trajectories.
    expect(b).toEqual(a);
    const z0 = (i: number): Float32Array => a[0]!.slice(i * D, (i + 1) * D);
    expect(z0(1)).toEqual(z0(0)); // same group
    expect(z0(cfg.G)).not.toEqual(z0(0)); // next group
    // Within a group the SDE noise differs, so the final states do.
    const last = (i: number): Float32Array => a[cfg.T]!.slice(i * D, (i + 1) * D);
    expect(last(1)).not.toEqual(last(0));
  });

  it('fixes TCD\'s profile at its batch mean for the fixed-profile control', () => {
    // w = [[2, 0], [0, 1]] (N = 2, T = 2): profile [1, 0.5]; f = [1, -2].
    expect(Array.from(fixedProfileAdvantages([2, 0, 0, 1], [1, -2], 2, 2))).toEqual([1, 0.5, -2, -1]);
  });

  it('completes every state by the ODE exactly as a separate ODE run from it would', () => {
    const cls = new Int32Array(N).map((_, i) => i % 4);
    const coefs = sdeCoefs(cfg);
    const r = sdeRollout(net, cls, groupNoise(N, cfg.G, new Rng(3)), coefs, new Rng(4));
    const done = odeCompletions(net, r, coefs.sigmas);
    expect(done).toHaveLength(cfg.T + 1);
    for (const j of [0, 2, cfg.T]) {
      const direct = odeSample(net, cls, r.states[j]!, coefs.sigmas.slice(j));
      expectClose(done[j]!, direct, 1e-5, `completion from state ${j}`);
    }
  });

  it('runs the credit study: dR from ODE completions, z_t and x0-hat, each with null and residual', () => {
    const c = creditStudy(net, 2, cfg, 5);
    expect(c.trajectories).toBe(2 * cfg.G);
    expect(c.rows).toHaveLength(3 * (1 + K));
    for (const row of c.rows) {
      for (const v of [row.mean.pearson, row.shuffledNull.pearson, row.residual.pearson, row.std.pearson]) expect(Number.isFinite(v)).toBe(true);
    }
    expect(c.rows.map((r) => r.score).slice(0, 1 + K)).toEqual(['sum', ...REWARD_NAMES]);
    // MOCA's fused advantage is its closed form.
    expect(c.moca.closedFormError).toBeLessThan(1e-5);
    const shares = c.moca.mixedPositive + c.moca.mixedNonPositive + c.moca.allNonNegative + c.moca.allNonPositive;
    expect(shares).toBeCloseTo(1, 12);
    expect(c.weightProfile.mean.reduce((a, b) => a + b, 0) / cfg.T).toBeCloseTo(1, 5); // w has mean 1 over t
  });

  it('classifies MOCA\'s cases by the signs of the per-reward advantages', () => {
    // K = 3: mixed with sum > 0, mixed with sum < 0, all positive, all negative.
    const A = [1, -0.5, 0.2, -1, 0.5, 0.1, 0.3, 0.6, 0.9, -0.2, -0.4, -0.1];
    const lambda = [0.9, 0, 0.9, 0];
    const f = [0.45, 0, 0.45, -0.1];
    const m = mocaBehaviour(A, lambda, [3, 0.1, 5, 2], f, 4);
    expect(m.closedFormError).toBeCloseTo(0, 12);
    expect([m.mixedPositive, m.mixedNonPositive, m.allNonNegative, m.allNonPositive]).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(m.zeroShare).toBe(0.25);
    expect(m.medianExploration).toBe(2.5);
    expect(m.tanhAbove099).toBe(0.5); // tanh(3), tanh(5)
  });

  it('evaluates deterministically on fixed prompts and seeds', () => {
    const set = makeEvalSet(2);
    const sigmas = sigmaSchedule(cfg.T, cfg.shift);
    const a = evaluate(net, set, sigmas);
    const b = evaluate(net, set, sigmas);
    expect(a.rewards).toHaveLength(K);
    expect(a.images.length).toBe(set.cls.length * D);
    expect(a.rewards).toEqual(b.rewards);
    expect(a.heldOut).toBe(b.heldOut);
  });
});

describe('flow-grpo study statistics (values from scipy 1.17)', () => {
  it('paired t-test and its 95% interval', () => {
    const r = pairedTests([0.3, -0.1, 0.5, 0.2, 0.45, 0.12, -0.05, 0.33]);
    expect(r.t).toBeCloseTo(2.8262065822302045, 10);
    expect(r.pT).toBeCloseTo(0.025544787649542617, 10);
    expect(r.ci95[0]).toBeCloseTo(0.035726735427548895, 8);
    expect(r.ci95[1]).toBeCloseTo(0.4017732645724511, 8);
  });

  it('exact Wilcoxon signed-rank, with ties enumerated on their average ranks', () => {
    // scipy.stats.wilcoxon(d, method='exact'): statistic min(W+, W-) = 3, p = 0.0390625.
    expect(wilcoxonSignedRank([0.3, -0.1, 0.5, 0.2, 0.45, 0.12, -0.05, 0.33])).toEqual({ wPlus: 33, p: 0.0390625 });
    // Eight positive differences: the smallest two-sided p with 8 seeds, 2 / 256.
    expect(wilcoxonSignedRank([1, 2, 3, 4, 5, 6, 7, 8]).p).toBe(0.0078125);
    // Ties: W+ = 29.5; brute force over the 256 sign patterns of the average ranks gives 34 / 256 each side.
    expect(wilcoxonSignedRank([1, 2, 2, -3, 4, 4, 5, -1])).toEqual({ wPlus: 29.5, p: 0.1328125 });
    expect(wilcoxonSignedRank([0, 0]).p).toBe(1);
  });

  it('Holm step-down adjustment keeps the input order and is monotone', () => {
    const adj = holm([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((v, k) => expect(adj[k]).toBeCloseTo(v, 14));
    expect(holm([0.5, 0.9])).toEqual([1, 1]);
  });
});

describe('flow-grpo study analysis (the pre-registered rule)', () => {
  const spread: BaseSpread = { rewards: [1, 1, 1], heldOut: 0.01, judge: 1, samples: 0 };
  const base = new Map<number, BaseEval>(Array.from({ length: 8 }, (_, s) => [s, { rewards: [0, 0, 0], heldOut: 0.9 }]));
  // A run whose final mean reward gain is g (every reward g) and fidelity 0.9 + h.
  const run = (arm: RunRecord['arm'], seed: number, g: number, h = 0): RunRecord => ({
    arm,
    seed,
    lr: 1e-4,
    train: [],
    evalIters: [0, 1],
    evalRewards: [[0, 0, 0], [g, g, g]],
    evalHeldOut: [0.9, 0.9 + h],
    evalJudge: [0, 0],
    final: { rewards: [g, g, g], heldOut: 0.9 + h, judge: 0 },
    images: new Float32Array(0),
    seconds: 0,
    clipFraction: 0,
  });
  const arms = ['dancegrpo', 'tcd', 'tcd-fixed', 'moca', 'otca'] as const;
  const study = (gain: Record<(typeof arms)[number], (s: number) => number>, fid = 0): RunRecord[] =>
    arms.flatMap((a) => Array.from({ length: 8 }, (_, s) => run(a, s, gain[a](s), a === 'dancegrpo' ? 0 : fid)));

  it('says reproduced when TCD, MOCA and OTCA each beat DanceGRPO on every seed, and which part is credit', () => {
    const a = analyse(study({ dancegrpo: (s) => 1 + 0.1 * s, tcd: (s) => 1.2 + 0.1 * s + 0.01 * (s % 3), 'tcd-fixed': (s) => 1 + 0.1 * s + 0.02 * (s % 2), moca: (s) => 1.3 + 0.1 * s + 0.01 * (s % 2), otca: (s) => 1.4 + 0.11 * s }), base, spread, arms);
    expect(a.confirmatory.map((c) => c.outcome)).toEqual(['supported', 'supported', 'supported', 'supported']);
    expect(a.verdict).toBe('reproduced');
    expect(a.creditVerdict).toMatch(/^yes/);
  });

  it('says not reproduced (reversed) when they all lose, and applies the fidelity guard', () => {
    const down = analyse(study({ dancegrpo: (s) => 1 + 0.1 * s, tcd: (s) => 0.9 + 0.1 * s + 0.01 * (s % 3), 'tcd-fixed': (s) => 0.9 + 0.1 * s + 0.01 * (s % 3), moca: (s) => 0.5 + 0.1 * s + 0.01 * (s % 2), otca: (s) => 0.5 + 0.1 * s + 0.02 * (s % 2) }), base, spread, arms);
    expect(down.verdict).toBe('not reproduced');
    expect(down.confirmatory.find((c) => c.id === 'H3')!.outcome).toBe('reversed');
    // Gains bought with fidelity 0.6 std below the baseline's fail the guard.
    const bought = analyse(study({ dancegrpo: (s) => 1 + 0.1 * s, tcd: (s) => 1.2 + 0.1 * s + 0.01 * (s % 3), 'tcd-fixed': (s) => 1 + 0.1 * s, moca: (s) => 1.3 + 0.1 * s + 0.01 * (s % 2), otca: (s) => 1.4 + 0.11 * s }, -0.006), base, spread, arms);
    expect(bought.confirmatory.find((c) => c.id === 'H1')!.outcome).toBe('guard failed');
    expect(bought.verdict).toBe('not reproduced');
  });

  it('compares at matched fidelity by interpolating the control along its checkpoints', () => {
    // Control: (fidelity gain, primary gain) = (0, 0), (-1, 1), (-2, 3); treatment ends at (-1.5, 2.5).
    const c = { ...run('dancegrpo', 0, 3), evalRewards: [[0, 0, 0], [1, 1, 1], [3, 3, 3]], evalHeldOut: [0.9, 0.89, 0.88] };
    const t = { ...run('otca', 0, 2.5), final: { rewards: [2.5, 2.5, 2.5], heldOut: 0.885, judge: 0 } };
    expect(atMatchedFidelity(t, c, base.get(0)!, spread)).toBeCloseTo(2.5 - 2, 10);
    // A treatment that lost more fidelity than the control ever did: no match.
    expect(atMatchedFidelity({ ...t, final: { rewards: [1, 1, 1], heldOut: 0.85, judge: 0 } }, c, base.get(0)!, spread)).toBeUndefined();
  });
});

describe('flow-grpo command line', () => {
  it('parses flags with parseArgs and names the flag of a bad value', () => {
    expect(parseCli(['--help'])).toBeNull();
    expect(parseCli(['-h'])).toBeNull();
    const a = parseCli(['--iters', '7', '--arms', 'tcd,otca', '--jobs', '1'])!;
    expect(a).toMatchObject({ iters: 7, arms: ['tcd', 'otca'], jobs: 1, seeds: 1, full: false });
    expect(parseCli(['--full'])).toMatchObject({ full: true, seeds: 8, iters: 120, creditGroups: 43 });
    expect(() => parseCli(['--iters', 'abc'])).toThrow(UsageError);
    expect(() => parseCli(['--iters', 'abc'])).toThrow(/--iters but received abc/);
    expect(() => parseCli(['--seeds', '0'])).toThrow(/integer >= 1 for --seeds/);
    expect(() => parseCli(['--arms', 'dancegrpo,nope'])).toThrow(/for --arms but received nope/);
    expect(() => parseCli(['--backend', 'gpu'])).toThrow(/for --backend but received gpu/);
    expect(() => parseCli(['--bogus'])).toThrow(/--bogus/);
    expect(USAGE).toMatch(/--full/);
  });

  // npm test builds dist/ first (scripts/ensure-built.mjs), so the built CLI is there.
  const cli = new URL('../../dist/examples/flow-grpo/main.js', import.meta.url);
  it('exits 0 with the usage for --help and 2 with a message naming the flag for a bad value', () => {
    expect(existsSync(cli), 'dist/examples/flow-grpo/main.js: run node scripts/ensure-built.mjs').toBe(true);
    const help = spawnSync(process.execPath, [cli.pathname, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: npm run demo');
    const bad = spawnSync(process.execPath, [cli.pathname, '--iters', 'abc'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('Expected an integer >= 1 for --iters but received abc');
  });
});
