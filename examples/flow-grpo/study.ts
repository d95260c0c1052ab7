/**
 * The pre-registered ablation study: one training run per (arm, seed), the primary metric, the
 * paired tests and the verdict rule. Everything here was fixed before the full study ran (see the
 * demo README, "The study, pre-registered"); the report only fills it in.
 */
import { D, NUM_CLASSES, subSeed } from './data.js';
import { VelocityNet } from './model.js';
import { HELDOUT_NAME, K } from './rewards.js';
import { sigmaSchedule } from './sampler.js';
import { type EvalResult, type EvalSet, GrpoTrainer, type TrainConfig, evaluate, makeEvalSet } from './trainer.js';
import { ARMS, type ArmName } from './advantages.js';
import { type PairedTest, holm, pairedTests } from './stats.js';

/** One training run to do. */
export interface RunJob {
  arm: ArmName;
  seed: number;
  iters: number;
  /** Evaluate every this many iterations (and at the end). */
  evalEvery: number;
  cfg: TrainConfig;
  /** Held-out prompts per class in the seed's evaluation set. */
  evalPerClass: number;
  /** Keep the final evaluation's first images (for the sample grid). */
  keepImages: number;
}

export interface RunRecord {
  arm: ArmName;
  seed: number;
  /** Adam's learning rate of this run. */
  lr: number;
  /** Training batch mean of each reward per iteration [iters][K]. */
  train: number[][];
  /** Held-out evaluation at checkpoints (iteration 0 is the base model). */
  evalIters: number[];
  evalRewards: number[][];
  evalHeldOut: number[];
  /** The held-out judge's mean score at the same checkpoints (judge.ts; the 2026-12-07 study's primary). */
  evalJudge: number[];
  final: { rewards: number[]; heldOut: number; judge: number };
  /** The first `keepImages` images of the final evaluation [n, D]. */
  images: Float32Array;
  seconds: number;
  /** Share of (sample, step) terms whose ratio left the clip range, averaged over iterations. */
  clipFraction: number;
}

/** Seed s's own held-out set: its prompts' initial noises differ from every other seed's. */
export function evalSetFor(seed: number, perClass: number): EvalSet {
  return makeEvalSet(perClass, subSeed(424242, seed));
}

/** Train a fresh copy of the base model with one arm and seed; `onIteration` sees each iteration's stats. */
export async function runJob(
  job: RunJob,
  baseWeights: Float32Array,
  hidden: number,
  onIteration?: (it: number, rewards: number[]) => void,
): Promise<RunRecord> {
  const { cfg } = job;
  const sigmas = sigmaSchedule(cfg.T, cfg.shift);
  const set = evalSetFor(job.seed, job.evalPerClass);
  const net = new VelocityNet({ hidden });
  net.setWeights(baseWeights);
  const base = evaluate(net, set, sigmas);
  const trainer = new GrpoTrainer(net, job.arm, cfg, subSeed(1000, job.seed));
  const rec: RunRecord = {
    arm: job.arm,
    seed: job.seed,
    lr: cfg.lr,
    train: [],
    evalIters: [0],
    evalRewards: [base.rewards],
    evalHeldOut: [base.heldOut],
    evalJudge: [base.judge],
    final: { rewards: base.rewards, heldOut: base.heldOut, judge: base.judge },
    images: new Float32Array(0),
    seconds: 0,
    clipFraction: 0,
  };
  const start = performance.now();
  let clip = 0;
  let last: EvalResult | undefined;
  for (let it = 1; it <= job.iters; it++) {
    const { stats } = await trainer.step();
    rec.train.push(stats.rewards);
    clip += stats.clipFraction;
    if (it % job.evalEvery === 0 || it === job.iters) {
      last = evaluate(net, set, sigmas);
      rec.evalIters.push(it);
      rec.evalRewards.push(last.rewards);
      rec.evalHeldOut.push(last.heldOut);
      rec.evalJudge.push(last.judge);
    }
    onIteration?.(it, stats.rewards);
  }
  if (last) {
    rec.final = { rewards: last.rewards, heldOut: last.heldOut, judge: last.judge };
    rec.images = last.images.slice(0, job.keepImages * D);
  }
  rec.seconds = (performance.now() - start) / 1000;
  rec.clipFraction = clip / Math.max(1, job.iters);
  trainer.dispose();
  net.dispose();
  return rec;
}

/** The base model's spread within a prompt: the unit of the primary metric. */
export interface BaseSpread {
  /** Within-prompt std of each reward [K], of the held-out fidelity and of the judge's score (ODE samples, pooled over prompts). */
  rewards: number[];
  heldOut: number;
  judge: number;
  samples: number;
}

/** Within-prompt std of the base model's ODE samples on a fixed set (`perClass` prompts' noises per class). */
export function baseSpread(base: EvalResult, cls: Int32Array): BaseSpread {
  const N = cls.length;
  const pooled = (value: (i: number) => number): number => {
    let ss = 0;
    for (let c = 0; c < NUM_CLASSES; c++) {
      const idx = Array.from({ length: N }, (_, i) => i).filter((i) => cls[i] === c);
      const m = idx.reduce((a, i) => a + value(i), 0) / idx.length;
      ss += idx.reduce((a, i) => a + (value(i) - m) ** 2, 0);
    }
    return Math.sqrt(ss / (N - NUM_CLASSES));
  };
  return {
    rewards: Array.from({ length: K }, (_, k) => pooled((i) => base.perImage.rewards[i * K + k]!)),
    heldOut: pooled((i) => base.perImage.heldOut[i]!),
    judge: pooled((i) => base.perImage.judge[i]!),
    samples: N,
  };
}

/**
 * Primary metric of a run: the mean over the K rewards of its final held-out gain over the base
 * model on the same seed's set, each in units of the base model's within-prompt std.
 */
export function primaryGain(final: number[], base: number[], spread: BaseSpread): number {
  let s = 0;
  for (let k = 0; k < K; k++) s += (final[k]! - base[k]!) / spread.rewards[k]!;
  return s / K;
}

/** Guard metric: the held-out fidelity's gain over the base model, in its within-prompt std. */
export function guardGain(final: number, base: number, spread: BaseSpread): number {
  return (final - base) / spread.heldOut;
}

/** A pre-registered comparison: treatment minus control, paired over seeds. */
export interface Hypothesis {
  id: string;
  treatment: ArmName;
  control: ArmName;
  claim: string;
}

/** The confirmatory family (Holm-corrected together). */
export const CONFIRMATORY: readonly Hypothesis[] = [
  { id: 'H1', treatment: 'tcd', control: 'dancegrpo', claim: 'TCD improves on its uniform baseline (DanceGRPO)' },
  { id: 'H2', treatment: 'tcd', control: 'tcd-fixed', claim: "TCD's gain is per-sample credit, not its average re-weighting" },
  { id: 'H3', treatment: 'moca', control: 'dancegrpo', claim: 'MOCA improves on its matched baseline (DanceGRPO)' },
  { id: 'H4', treatment: 'otca', control: 'dancegrpo', claim: 'OTCA improves on the paper baseline (DanceGRPO)' },
];

/** Reported without correction, to describe, not to decide. */
export const EXPLORATORY: readonly Hypothesis[] = [
  { id: 'E1', treatment: 'otca', control: 'moca', claim: 'TCD on top of MOCA' },
  { id: 'E2', treatment: 'otca', control: 'tcd', claim: 'MOCA on top of TCD' },
  { id: 'E3', treatment: 'tcd-fixed', control: 'dancegrpo', claim: "TCD's average profile alone" },
  { id: 'E4', treatment: 'dancegrpo', control: 'flow-grpo', claim: 'per-reward normalisation (DanceGRPO) vs normalising the sum (Flow-GRPO)' },
];

/** Significance level of the family (after Holm) and the guard's threshold in fidelity stds. */
export const ALPHA = 0.05;
export const GUARD_THRESHOLD = -0.5;

export interface ComparisonResult extends Hypothesis {
  /** Seeds with both arms. */
  seeds: number[];
  primary: PairedTest;
  guard: PairedTest;
  /** Holm-adjusted p of the t-test and of the Wilcoxon test (confirmatory only; raw p otherwise). */
  pTAdjusted: number;
  pWilcoxonAdjusted: number;
  /** Guard holds: the treatment's mean fidelity gain is not below the control's by more than 0.5 std. */
  guardHolds: boolean;
  /** 'supported' | 'reversed' (significantly worse in both tests) | 'not significant' | 'guard failed'. */
  outcome: 'supported' | 'reversed' | 'not significant' | 'guard failed';
}

export interface ArmSummary {
  arm: ArmName;
  primary: number[];
  guard: number[];
}

export interface StudyAnalysis {
  arms: ArmSummary[];
  confirmatory: ComparisonResult[];
  exploratory: ComparisonResult[];
  verdict: 'reproduced' | 'partially reproduced' | 'not reproduced' | 'not tested';
  /** Whether TCD's gain is attributable to per-sample credit (H2), in words. */
  creditVerdict: string;
}

/** Per-seed base evaluation (rewards [K] and held-out) on that seed's set. */
export interface BaseEval {
  rewards: number[];
  heldOut: number;
  /** The held-out judge's mean score (the 2026-12-07 study's primary; unused by this analysis). */
  judge?: number;
}

function compare(h: Hypothesis, runs: RunRecord[], base: Map<number, BaseEval>, spread: BaseSpread): Omit<ComparisonResult, 'pTAdjusted' | 'pWilcoxonAdjusted' | 'outcome'> {
  const by = (arm: ArmName): Map<number, RunRecord> => new Map(runs.filter((r) => r.arm === arm).map((r) => [r.seed, r]));
  const t = by(h.treatment);
  const c = by(h.control);
  const seeds = [...t.keys()].filter((s) => c.has(s)).sort((a, b) => a - b);
  const p = (r: RunRecord): number => primaryGain(r.final.rewards, base.get(r.seed)!.rewards, spread);
  const g = (r: RunRecord): number => guardGain(r.final.heldOut, base.get(r.seed)!.heldOut, spread);
  const primary = pairedTests(seeds.map((s) => p(t.get(s)!) - p(c.get(s)!)));
  const guard = pairedTests(seeds.map((s) => g(t.get(s)!) - g(c.get(s)!)));
  return { ...h, seeds, primary, guard, guardHolds: guard.mean >= GUARD_THRESHOLD };
}

function outcomeOf(c: Omit<ComparisonResult, 'outcome'>): ComparisonResult['outcome'] {
  const significant = c.pTAdjusted < ALPHA && c.pWilcoxonAdjusted < ALPHA;
  if (significant && c.primary.mean > 0) return c.guardHolds ? 'supported' : 'guard failed';
  if (significant && c.primary.mean < 0) return 'reversed';
  return 'not significant';
}

/** The pre-registered analysis of the runs. */
export function analyse(runs: RunRecord[], base: Map<number, BaseEval>, spread: BaseSpread, arms: readonly ArmName[]): StudyAnalysis {
  const summaries: ArmSummary[] = arms.map((arm) => {
    const rs = runs.filter((r) => r.arm === arm).sort((a, b) => a.seed - b.seed);
    return {
      arm,
      primary: rs.map((r) => primaryGain(r.final.rewards, base.get(r.seed)!.rewards, spread)),
      guard: rs.map((r) => guardGain(r.final.heldOut, base.get(r.seed)!.heldOut, spread)),
    };
  });
  const present = (h: Hypothesis): boolean => arms.includes(h.treatment) && arms.includes(h.control);
  const conf = CONFIRMATORY.filter(present).map((h) => compare(h, runs, base, spread));
  const adjT = holm(conf.map((c) => c.primary.pT));
  const adjW = holm(conf.map((c) => c.primary.pWilcoxon));
  const confirmatory = conf.map((c, k) => {
    const withP = { ...c, pTAdjusted: adjT[k]!, pWilcoxonAdjusted: adjW[k]! };
    return { ...withP, outcome: outcomeOf(withP) };
  });
  const exploratory = EXPLORATORY.filter(present).map((h) => {
    const c = compare(h, runs, base, spread);
    const withP = { ...c, pTAdjusted: c.primary.pT, pWilcoxonAdjusted: c.primary.pWilcoxon };
    return { ...withP, outcome: outcomeOf(withP) };
  });
  const get = (id: string): ComparisonResult | undefined => confirmatory.find((c) => c.id === id);
  const components = ['H1', 'H3', 'H4'].map(get);
  const seeds = Math.min(...confirmatory.map((c) => c.seeds.length), Infinity);
  let verdict: StudyAnalysis['verdict'];
  if (components.some((c) => c === undefined) || !(seeds >= 2)) verdict = 'not tested';
  else {
    const supported = components.filter((c) => c!.outcome === 'supported').length;
    verdict = supported === 3 ? 'reproduced' : supported > 0 ? 'partially reproduced' : 'not reproduced';
  }
  const h2 = get('H2');
  const creditVerdict = !h2 || h2.seeds.length < 2
    ? 'not tested'
    : h2.outcome === 'supported'
      ? 'yes: TCD beat its own average profile'
      : h2.outcome === 'reversed'
        ? 'no: the average profile alone did better'
        : 'not shown: TCD and its average profile could not be told apart';
  return { arms: summaries, confirmatory, exploratory, verdict, creditVerdict };
}

/**
 * Post hoc, not part of the pre-registered analysis: the treatment's final primary gain minus the
 * control's primary gain at the same fidelity loss, the control's being interpolated along its
 * evaluation checkpoints (first crossing of the treatment's final fidelity gain); undefined where the
 * control's curve never reaches that fidelity. A method that learns the rewards more slowly but
 * also drifts less from the real images is judged here at equal drift.
 */
export function atMatchedFidelity(t: RunRecord, c: RunRecord, base: BaseEval, spread: BaseSpread): number | undefined {
  const target = guardGain(t.final.heldOut, base.heldOut, spread);
  const g = c.evalHeldOut.map((h) => guardGain(h, base.heldOut, spread));
  const p = c.evalRewards.map((r) => primaryGain(r, base.rewards, spread));
  for (let j = 0; j + 1 < g.length; j++) {
    const [a, b] = [g[j]!, g[j + 1]!];
    if ((target - a) * (target - b) <= 0 && a !== b) {
      const u = (target - a) / (b - a);
      return primaryGain(t.final.rewards, base.rewards, spread) - (p[j]! + u * (p[j + 1]! - p[j]!));
    }
  }
  return undefined;
}

/** The post-hoc matched-fidelity comparisons: every arm against DanceGRPO. */
export const POST_HOC: readonly Hypothesis[] = [
  { id: 'P1', treatment: 'tcd', control: 'dancegrpo', claim: 'TCD at the fidelity DanceGRPO had when it lost as much' },
  { id: 'P2', treatment: 'tcd-fixed', control: 'dancegrpo', claim: 'TCD fixed profile, same' },
  { id: 'P3', treatment: 'moca', control: 'dancegrpo', claim: 'MOCA only, same' },
  { id: 'P4', treatment: 'otca', control: 'dancegrpo', claim: 'OTCA, same' },
];

export interface MatchedResult extends Hypothesis {
  /** Seeds where the control's curve reached the treatment's fidelity. */
  seeds: number[];
  test: PairedTest | undefined;
}

export function matchedFidelity(runs: RunRecord[], base: Map<number, BaseEval>, spread: BaseSpread, arms: readonly ArmName[]): MatchedResult[] {
  return POST_HOC.filter((h) => arms.includes(h.treatment) && arms.includes(h.control)).map((h) => {
    const seeds: number[] = [];
    const d: number[] = [];
    for (const t of runs.filter((r) => r.arm === h.treatment)) {
      const c = runs.find((r) => r.arm === h.control && r.seed === t.seed);
      const v = c && atMatchedFidelity(t, c, base.get(t.seed)!, spread);
      if (v !== undefined) {
        seeds.push(t.seed);
        d.push(v);
      }
    }
    return { ...h, seeds, test: d.length >= 2 ? pairedTests(d) : undefined };
  });
}

/** Labels for tables. */
export function armLabel(arm: ArmName): string {
  return ARMS[arm].label;
}

export { HELDOUT_NAME };
