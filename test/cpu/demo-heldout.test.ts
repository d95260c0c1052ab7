// The flow-grpo example's 2026-12-07 study on tiny configs: its held-out judge (deterministic, a
// real classifier with headroom), its endpoints, the tuning choice, the pre-registered rule (both
// co-primary endpoints, Holm per endpoint, the guard, the verdicts), the matched-drift comparison,
// the plateau check, its command line, and three reruns of one arm bit-identical.
import { beforeAll, describe, expect, it } from 'vitest';
import { type ArmName, STUDY_1205_ARMS } from '../../examples/flow-grpo/advantages.js';
import { parseCli } from '../../examples/flow-grpo/cli.js';
import { D, NUM_CLASSES, Rng, sampleBatch, template } from '../../examples/flow-grpo/data.js';
import { JUDGE_CONFIG, fitJudge, judgeScores, theJudge } from '../../examples/flow-grpo/judge.js';
import { VelocityNet } from '../../examples/flow-grpo/model.js';
import { isPreregistered } from '../../examples/flow-grpo/study-heldout-run.js';
import {
  HELDOUT_ARMS,
  HELDOUT_PLAN,
  type HeldoutBase,
  analyseHeldout,
  chooseRates,
  endpointsAt,
  meanGainAtMatchedDrift,
  plateau,
} from '../../examples/flow-grpo/study-heldout.js';
import { type BaseSpread, type RunRecord, runJob } from '../../examples/flow-grpo/study.js';
import { type TrainConfig, evaluate, makeEvalSet } from '../../examples/flow-grpo/trainer.js';
import { sigmaSchedule } from '../../examples/flow-grpo/sampler.js';
import { initBackend } from '../../examples/flow-grpo/tf.js';

describe('flow-grpo held-out judge', () => {
  it('is fitted deterministically and classifies fresh real images', () => {
    const small = { ...JUDGE_CONFIG, images: 256, steps: 20 };
    const a = fitJudge(small);
    const b = fitJudge(small);
    expect(a.weights).toEqual(b.weights);
    const j = theJudge();
    // Measured when the judge was frozen (PREREGISTRATION-2026-12-07.md): 891 of 1,024, mean log p -0.5589.
    expect(j.realAccuracy).toBe(891 / 1024);
    expect(j.realMeanLogProb).toBeCloseTo(-0.5589, 4);
  });

  it('scores log p(prompt | image): at most 0, a probability distribution over the prompts, highest for the right prompt on canonical shapes', () => {
    const j = theJudge();
    for (let c = 0; c < NUM_CLASSES; c++) {
      const img = template(c);
      const four = new Float32Array(NUM_CLASSES * D);
      for (let k = 0; k < NUM_CLASSES; k++) four.set(img, k * D);
      const s = judgeScores(four, Int32Array.from({ length: NUM_CLASSES }, (_, k) => k), j);
      expect(Array.from(s).reduce((a, v) => a + Math.exp(v), 0)).toBeCloseTo(1, 5);
      for (let k = 0; k < NUM_CLASSES; k++) {
        expect(s[k]!).toBeLessThanOrEqual(0);
        if (k !== c) expect(s[c]!).toBeGreaterThan(s[k]!);
      }
    }
    // Pixels outside [-1, 1] are clipped, as the rewards clip them.
    const { x, cls } = sampleBatch(4, new Rng(5));
    const loud = x.map((v) => (v > 0 ? 5 * v + 1 : v - 3));
    const clipped = x.map((v) => (v > 0 ? Math.min(1, 5 * v + 1) : -1));
    expect(judgeScores(loud, cls, j)).toEqual(judgeScores(clipped, cls, j));
  });
});

// ---- the analysis, on synthetic runs

const spread: BaseSpread = { rewards: [1, 1, 1], heldOut: 0.01, judge: 0.5, samples: 0 };
const base = new Map<number, HeldoutBase>(Array.from({ length: 8 }, (_, s) => [s, { rewards: [0, 0, 0], heldOut: 0.9, judge: -0.5 }]));

/** A run whose final judge gain is j std, per-reward gains g [K] and fidelity gain f std (checkpoint 1; checkpoint 0 is the base). */
function run(arm: ArmName, seed: number, j: number, g: number[], f = 0, lr = 1e-4): RunRecord {
  const rewards = g;
  return {
    arm,
    seed,
    lr,
    train: [],
    evalIters: [0, 10],
    evalRewards: [[0, 0, 0], rewards],
    evalHeldOut: [0.9, 0.9 + f * spread.heldOut],
    evalJudge: [-0.5, -0.5 + j * spread.judge],
    final: { rewards, heldOut: 0.9 + f * spread.heldOut, judge: -0.5 + j * spread.judge },
    images: new Float32Array(0),
    seconds: 0,
    clipFraction: 0,
  };
}

type Spec = (s: number) => { j: number; g: number[]; f?: number };
function study(spec: Partial<Record<ArmName, Spec>>): RunRecord[] {
  const fallback: Spec = (s) => ({ j: 1 + 0.1 * s, g: [1 + 0.05 * s, 0.5 + 0.03 * s, 1] });
  return HELDOUT_ARMS.flatMap((arm) =>
    Array.from({ length: 8 }, (_, s) => {
      const v = (spec[arm] ?? fallback)(s);
      return run(arm, s, v.j, v.g, v.f ?? 0);
    }),
  );
}
const better: Spec = (s) => ({ j: 1.5 + 0.1 * s + 0.01 * (s % 3), g: [1.2 + 0.05 * s, 0.8 + 0.03 * s + 0.01 * (s % 2), 1.1] });

describe('flow-grpo 2026-12-07 analysis (the pre-registered rule)', () => {
  it('computes the endpoints: judge gain, balance (smallest reward gain), mean gain, fidelity, in base std units', () => {
    const e = endpointsAt(run('otca', 0, 0.8, [2, -1, 0.5], -0.3), 1, base.get(0)!, spread);
    expect(e.judge).toBeCloseTo(0.8, 12);
    expect(e.balance).toBe(-1);
    expect(e.meanGain).toBeCloseTo(0.5, 12);
    expect(e.fidelity).toBeCloseTo(-0.3, 10);
    expect(endpointsAt(run('otca', 0, 0.8, [2, -1, 0.5]), 0, base.get(0)!, spread)).toMatchObject({ judge: 0, balance: 0, meanGain: 0, fidelity: 0 });
  });

  it('supports a hypothesis only when both co-primary endpoints show it, and gives the verdicts', () => {
    const all = analyseHeldout(study({ otca: better, moca: better, tcd: better, 'moca-group': (s) => better(s) }), base, spread, HELDOUT_ARMS);
    const out = Object.fromEntries(all.confirmatory.map((c) => [c.id, c.outcome]));
    // MOCA+grp equals better(), so H4 (MOCA+grp − MOCA) is 0 everywhere; OTCA+grp is the fallback, below OTCA.
    expect(out).toEqual({ H1: 'supported', H2: 'supported', H3: 'supported', H4: 'not significant', H5: 'reversed', H6: 'supported' });
    expect(all.verdict).toEqual({ paper: 'reproduced', groupStandardisation: 'hurts', againstGdpo: 'OTCA better' });
    // Holm-adjusted p are at least the raw ones, and every hypothesis has 8 seeds.
    for (const c of all.confirmatory) {
      expect(c.seeds).toHaveLength(8);
      expect(c.balance.pW).toBeGreaterThanOrEqual(c.balance.test.pWilcoxon);
      if (c.id !== 'H4') expect(c.judge.pT).toBeGreaterThanOrEqual(c.judge.test.pT);
    }
    // H4's differences are all 0: no t statistic, Wilcoxon p 1.
    expect(all.confirmatory[3]!.judge.test.pT).toBeNaN();
    expect(all.confirmatory[3]!.judge.pW).toBe(1);
    // Better on the judge but not on balance (TCD's smallest reward no higher): not supported.
    const judgeOnly: Spec = (s) => ({ j: 1.5 + 0.1 * s + 0.01 * (s % 3), g: [1.5 + 0.05 * s, 0.5 + 0.03 * s, 1] });
    const partial = analyseHeldout(study({ otca: better, tcd: judgeOnly }), base, spread, HELDOUT_ARMS);
    expect(partial.confirmatory.find((c) => c.id === 'H3')!.outcome).toBe('not significant');
    expect(partial.confirmatory.find((c) => c.id === 'H3')!.judge.better).toBe(true);
    expect(partial.verdict.paper).toBe('partially reproduced');
    // Gains bought with 0.6 std of fidelity fail the guard.
    const drifted: Spec = (s) => ({ ...better(s), f: -0.6 });
    const guarded = analyseHeldout(study({ otca: drifted }), base, spread, HELDOUT_ARMS);
    expect(guarded.confirmatory.find((c) => c.id === 'H1')!.outcome).toBe('guard failed');
    expect(guarded.verdict.paper).toBe('not reproduced');
  });

  it('says group standardisation helps when H4 and H5 are both supported, and reads H6 both ways', () => {
    const a = analyseHeldout(study({ 'moca-group': better, 'otca-group': better, gdpo: better }), base, spread, HELDOUT_ARMS);
    expect(a.verdict).toEqual({ paper: 'not reproduced', groupStandardisation: 'helps MOCA and OTCA', againstGdpo: 'GDPO better' });
    const one = analyseHeldout(study({ 'moca-group': better }), base, spread, HELDOUT_ARMS);
    expect(one.verdict.groupStandardisation).toBe('helps MOCA only');
    // With one seed nothing is tested.
    const single = analyseHeldout(study({}).filter((r) => r.seed === 0), base, spread, HELDOUT_ARMS);
    expect(single.verdict).toEqual({ paper: 'not tested', groupStandardisation: 'not tested', againstGdpo: 'not tested' });
  });

  it('chooses each arm\'s rate by the mean primary over the tuning seeds, ties to the smaller, and flags the grid\'s edge', () => {
    const grid = [1e-4, 3e-4, 1e-3];
    const tb = new Map<number, HeldoutBase>([100, 101].map((s) => [s, { rewards: [0, 0, 0], heldOut: 0.9, judge: -0.5 }]));
    const judgeOf: Record<string, number[]> = { dancegrpo: [0.2, 0.9, 0.5], moca: [0.4, 0.4, 0.1], otca: [0.1, 0.2, 0.3] };
    const runs = Object.entries(judgeOf).flatMap(([arm, js]) =>
      grid.flatMap((lr, k) => [100, 101].map((seed) => run(arm as ArmName, seed, js[k]! + (seed === 100 ? 0.05 : -0.05), [1, 1, 1], 0, lr))),
    );
    const c = chooseRates(runs, tb, spread, ['dancegrpo', 'moca', 'otca'], grid);
    expect(c.map((x) => [x.arm, x.lr, x.atEdge])).toEqual([
      ['dancegrpo', 3e-4, false],
      ['moca', 1e-4, true],
      ['otca', 1e-3, true],
    ]);
    expect(c[0]!.grid.map((g) => g.seeds)).toEqual([2, 2, 2]);
    expect(c[0]!.grid[1]!.judge).toBeCloseTo(0.9, 10);
  });

  it('compares the mean reward gain at matched fidelity by interpolating DanceGRPO\'s curve', () => {
    // DanceGRPO: (fidelity, mean gain) = (0, 0), (-1, 1), (-2, 3); the treatment ends at (-1.5, 2.5).
    const c: RunRecord = { ...run('dancegrpo', 0, 0, [3, 3, 3]), evalIters: [0, 5, 10], evalRewards: [[0, 0, 0], [1, 1, 1], [3, 3, 3]], evalHeldOut: [0.9, 0.89, 0.88], evalJudge: [-0.5, -0.5, -0.5] };
    const t = run('otca', 0, 0, [2.5, 2.5, 2.5], -1.5);
    expect(meanGainAtMatchedDrift(t, c, base.get(0)!, spread)).toBeCloseTo(0.5, 10);
    expect(meanGainAtMatchedDrift(run('otca', 0, 0, [1, 1, 1], -5), c, base.get(0)!, spread)).toBeUndefined();
  });

  it('checks DanceGRPO\'s plateau over the last fifth of the run', () => {
    const curve = (js: number[]): RunRecord[] =>
      [0, 1].map((seed) => ({ ...run('dancegrpo', seed, 0, [0, 0, 0]), evalIters: js.map((_, k) => 20 * k), evalRewards: js.map(() => [0, 0, 0]), evalHeldOut: js.map(() => 0.9), evalJudge: js.map((j) => -0.5 + j * spread.judge) }));
    const flat = plateau(curve([0, 0.5, 0.8, 0.95, 1, 1.05]), base, spread)!;
    expect(flat.levelled).toBe(true);
    expect(flat.beforeIter).toBe(80);
    expect(flat.final).toBeCloseTo(1.05, 10);
    expect(plateau(curve([0, 0.2, 0.4, 0.6, 0.8, 1]), base, spread)!.levelled).toBe(false);
  });
});

describe('flow-grpo 2026-12-07 command line', () => {
  it('runs the pre-registered study by default with --study, and names the flag of a bad value', () => {
    const a = parseCli(['--study', '2026-12-07'])!;
    expect(a).toMatchObject({ study: '2026-12-07', iters: HELDOUT_PLAN.iters, evalEvery: HELDOUT_PLAN.evalEvery, seeds: 8, tuningSeeds: [100, 101], lrs: [1e-4, 3e-4, 1e-3] });
    expect(a.arms).toEqual(HELDOUT_ARMS);
    expect(a.out).toMatch(/examples\/flow-grpo\/results\/2026-12-07-heldout$/);
    expect(isPreregistered(a)).toBe(true);
    const tiny = parseCli(['--study', '2026-12-07', '--iters', '5', '--tuning-seeds', '1', '--lrs', '1e-3,2e-3'])!;
    expect(tiny).toMatchObject({ iters: 5, evalEvery: 1, tuningSeeds: [100], lrs: [1e-3, 2e-3] });
    expect(isPreregistered(tiny)).toBe(false);
    // A plain run keeps the 2026-12-05 arms.
    expect(parseCli([])!.arms).toEqual(STUDY_1205_ARMS);
    expect(() => parseCli(['--study', '2026-12-08'])).toThrow(/for --study but received 2026-12-08/);
    expect(() => parseCli(['--study', '2026-12-07', '--full'])).toThrow(/at most one of --full and --study/);
    expect(() => parseCli(['--lrs', '1e-3'])).toThrow(/--study 2026-12-07 with --tuning-seeds and --lrs/);
    expect(() => parseCli(['--study', '2026-12-07', '--lrs', '1e-3,x'])).toThrow(/number > 0 for --lrs but received x/);
    expect(() => parseCli(['--study', '2026-12-07', '--lrs', '0'])).toThrow(/number > 0 for --lrs but received 0/);
  });
});

describe('flow-grpo 2026-12-07 runs', () => {
  const cfg: TrainConfig = { T: 4, G: 4, prompts: 2, eta: 0.3, shift: 3, lr: 1e-3, clipRange: 1e-4, minibatches: 2 };
  let weights: Float32Array;
  beforeAll(async () => {
    await initBackend('cpu');
    const net = new VelocityNet({ hidden: 16 }, 3);
    weights = net.getWeights();
    net.dispose();
  });

  it.each(['otca', 'moca-group', 'gdpo'] as const)('gives three bit-identical reruns of one arm (%s), the judge at every checkpoint included', async (arm) => {
    const job = { arm, seed: 100, iters: 3, evalEvery: 1, cfg, evalPerClass: 1, keepImages: 2 };
    const recs = [];
    for (let k = 0; k < 3; k++) recs.push(await runJob(job, weights, 16));
    const strip = ({ seconds: _s, ...r }: RunRecord): Omit<RunRecord, 'seconds'> => r;
    expect(recs[0]!.evalJudge).toHaveLength(4);
    expect(recs[0]!.lr).toBe(1e-3);
    expect(recs[0]!.images.length).toBe(2 * D);
    expect(strip(recs[1]!)).toEqual(strip(recs[0]!));
    expect(strip(recs[2]!)).toEqual(strip(recs[0]!));
    // Training moved the parameters: the last checkpoint differs from the base model's.
    expect(recs[0]!.evalJudge[3]).not.toBe(recs[0]!.evalJudge[0]);
  });

  it('records the judge\'s mean score with every held-out evaluation', () => {
    const net = new VelocityNet({ hidden: 16 }, 3);
    const set = makeEvalSet(2);
    const e = evaluate(net, set, sigmaSchedule(cfg.T, cfg.shift));
    expect(e.perImage.judge).toEqual(judgeScores(e.images, set.cls));
    expect(e.judge).toBeCloseTo(Array.from(e.perImage.judge).reduce((a, b) => a + b, 0) / set.cls.length, 6);
    net.dispose();
  });
});
