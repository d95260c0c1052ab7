/**
 * The 2026-12-07 study (`npm run demo -- --study 2026-12-07`): does OTCA help, measured on what the
 * paper claims (held-out quality and balance across the rewards), with every arm at its best
 * learning rate. Everything here was fixed and committed before any tuning or evaluation run (see
 * PREREGISTRATION-2026-12-07.md); the report only fills it in. The 2026-12-05 study (study.ts)
 * stays as it was.
 */
import { ARMS, type ArmName } from './advantages.js';
import { K } from './rewards.js';
import type { BaseSpread, Hypothesis, RunRecord } from './study.js';
import { type PairedTest, holm, pairedTests } from './stats.js';

export const STUDY_ID = '2026-12-07';

/** The eight arms, in the report's order. */
export const HELDOUT_ARMS: readonly ArmName[] = ['dancegrpo', 'tcd', 'tcd-fixed', 'moca', 'otca', 'moca-group', 'otca-group', 'gdpo'];

/** The pre-registered sizes (PREREGISTRATION-2026-12-07.md says why each). */
export const HELDOUT_PLAN = {
  /** Evaluation seeds 0..7 (each its own training streams and held-out set; common random numbers across arms). */
  evalSeeds: 8,
  /** Tuning seeds, disjoint from the evaluation seeds' streams and held-out sets. */
  tuningSeeds: [100, 101] as readonly number[],
  /** Adam learning rates tried for every arm (factor 3 apart). */
  lrGrid: [1e-4, 3e-4, 1e-3] as readonly number[],
  /** GRPO iterations per run (tuning and evaluation alike). */
  iters: 100,
  /** Held-out evaluation every this many iterations (and at 0 and the end): checkpoints 0, 20, ..., 100. */
  evalEvery: 20,
  /** Held-out prompts per class per seed (4 classes: 128 prompts/initial noises). */
  evalPerClass: 32,
  /** Where the report goes. */
  out: 'examples/flow-grpo/results/2026-12-07-heldout',
} as const;

/** Per seed: the base model's held-out means on that seed's set (checkpoint 0 of every run). */
export interface HeldoutBase {
  rewards: number[];
  heldOut: number;
  judge: number;
}

/** The endpoints of a run, each a gain over the base model on the same seed's set, in base-model within-prompt std units. */
export interface Endpoints {
  /** Primary: the held-out judge's score. */
  judge: number;
  /** Co-primary: balance, the smallest of the K per-reward gains. */
  balance: number;
  /** Secondary: the mean of the K per-reward gains (the 2026-12-05 study's primary). */
  meanGain: number;
  /** Secondary: held-out fidelity (drift from the real images; negative = drift). */
  fidelity: number;
  /** The K per-reward gains. */
  perReward: number[];
}

/** The endpoints at checkpoint j of a run (the last checkpoint is the run's final evaluation). */
export function endpointsAt(r: RunRecord, j: number, base: HeldoutBase, spread: BaseSpread): Endpoints {
  const perReward = Array.from({ length: K }, (_, k) => (r.evalRewards[j]![k]! - base.rewards[k]!) / spread.rewards[k]!);
  return {
    judge: (r.evalJudge[j]! - base.judge) / spread.judge,
    balance: Math.min(...perReward),
    meanGain: perReward.reduce((a, b) => a + b, 0) / K,
    fidelity: (r.evalHeldOut[j]! - base.heldOut) / spread.heldOut,
    perReward,
  };
}

export function finalEndpoints(r: RunRecord, base: HeldoutBase, spread: BaseSpread): Endpoints {
  return endpointsAt(r, r.evalIters.length - 1, base, spread);
}

// ---- tuning

export interface TuningChoice {
  arm: ArmName;
  /** Mean primary (judge gain) over the tuning seeds at each rate of the grid. */
  grid: { lr: number; judge: number; balance: number; seeds: number }[];
  /** The rate with the highest mean primary (ties: the smaller rate). */
  lr: number;
  /** The chosen rate is the grid's smallest or largest. */
  atEdge: boolean;
}

/** Each arm's rate: the grid value with the highest mean primary endpoint over the tuning seeds (ties: the smaller). */
export function chooseRates(runs: RunRecord[], base: Map<number, HeldoutBase>, spread: BaseSpread, arms: readonly ArmName[], grid: readonly number[]): TuningChoice[] {
  return arms.map((arm) => {
    const rows = grid.map((lr) => {
      const rs = runs.filter((r) => r.arm === arm && r.lr === lr);
      const e = rs.map((r) => finalEndpoints(r, base.get(r.seed)!, spread));
      const m = (f: (x: Endpoints) => number): number => (e.length ? e.reduce((a, x) => a + f(x), 0) / e.length : NaN);
      return { lr, judge: m((x) => x.judge), balance: m((x) => x.balance), seeds: rs.length };
    });
    let best = 0;
    for (let k = 1; k < rows.length; k++) {
      const [a, b] = [rows[k]!, rows[best]!];
      if (a.judge > b.judge || (a.judge === b.judge && a.lr < b.lr)) best = k;
    }
    const sorted = [...grid].sort((a, b) => a - b);
    const lr = rows[best]!.lr;
    return { arm, grid: rows, lr, atEdge: grid.length > 1 && (lr === sorted[0] || lr === sorted[sorted.length - 1]) };
  });
}

// ---- hypotheses and the verdict

/** A pre-registered comparison (the 2026-12-05 study's shape): treatment minus control, paired over seeds. */
export type HeldoutHypothesis = Hypothesis;

/** The confirmatory family: Holm over these six, separately on each co-primary endpoint. */
export const HELDOUT_CONFIRMATORY: readonly HeldoutHypothesis[] = [
  { id: 'H1', treatment: 'otca', control: 'dancegrpo', claim: 'OTCA improves on the baseline the paper adds it to (DanceGRPO)' },
  { id: 'H2', treatment: 'moca', control: 'dancegrpo', claim: 'MOCA improves on its matched baseline (DanceGRPO)' },
  { id: 'H3', treatment: 'tcd', control: 'dancegrpo', claim: 'TCD improves on its uniform baseline (DanceGRPO)' },
  { id: 'H4', treatment: 'moca-group', control: 'moca', claim: "standardising MOCA's f within its group improves MOCA" },
  { id: 'H5', treatment: 'otca-group', control: 'otca', claim: "standardising OTCA's f within its group improves OTCA" },
  { id: 'H6', treatment: 'otca', control: 'gdpo', claim: 'OTCA improves on GDPO, the multi-reward baseline the field has moved to' },
];

/** Reported without correction, to describe, not to decide. */
export const HELDOUT_EXPLORATORY: readonly HeldoutHypothesis[] = [
  { id: 'E1', treatment: 'tcd', control: 'tcd-fixed', claim: "TCD's gain is per-sample credit, not its average re-weighting" },
  { id: 'E2', treatment: 'gdpo', control: 'dancegrpo', claim: 'GDPO against DanceGRPO' },
  { id: 'E3', treatment: 'otca-group', control: 'dancegrpo', claim: 'OTCA with group-standardised f against DanceGRPO' },
  { id: 'E4', treatment: 'otca-group', control: 'gdpo', claim: 'OTCA with group-standardised f against GDPO' },
  { id: 'E5', treatment: 'moca-group', control: 'dancegrpo', claim: 'MOCA with group-standardised f against DanceGRPO' },
  { id: 'E6', treatment: 'otca', control: 'moca', claim: 'TCD on top of MOCA' },
];

export const HELDOUT_ALPHA = 0.05;
/** Fidelity guard, as in 2026-12-05: a supported comparison may not lose more than 0.5 base-model std of fidelity against its control. */
export const HELDOUT_GUARD = -0.5;

export type Outcome = 'supported' | 'reversed' | 'not significant' | 'guard failed';

export interface EndpointTest {
  test: PairedTest;
  /** Holm-adjusted (confirmatory) or raw (others) p of the t-test and the Wilcoxon test. */
  pT: number;
  pW: number;
  /** Both p < alpha and the mean > 0 / < 0. */
  better: boolean;
  worse: boolean;
}

export interface HeldoutComparison extends HeldoutHypothesis {
  seeds: number[];
  judge: EndpointTest;
  balance: EndpointTest;
  /** Secondaries, uncorrected. */
  meanGain: PairedTest;
  fidelity: PairedTest;
  guardHolds: boolean;
  outcome: Outcome;
}

function endpointTest(t: PairedTest, pT: number, pW: number): EndpointTest {
  const sig = pT < HELDOUT_ALPHA && pW < HELDOUT_ALPHA;
  return { test: t, pT, pW, better: sig && t.mean > 0, worse: sig && t.mean < 0 };
}

/**
 * The rule for one comparison: supported when the treatment is better on BOTH co-primary endpoints
 * (each: t-test and Wilcoxon p < 0.05 after Holm over the family, mean difference > 0) and the
 * fidelity guard holds; reversed when it is significantly worse on the primary (both tests); else
 * not significant (or guard failed).
 */
export function outcomeOf(judge: EndpointTest, balance: EndpointTest, guardHolds: boolean): Outcome {
  if (judge.better && balance.better) return guardHolds ? 'supported' : 'guard failed';
  if (judge.worse) return 'reversed';
  return 'not significant';
}

function pairs(h: HeldoutHypothesis, runs: RunRecord[], base: Map<number, HeldoutBase>, spread: BaseSpread): { seeds: number[]; d: (f: (e: Endpoints) => number) => number[] } {
  const by = (arm: ArmName): Map<number, Endpoints> =>
    new Map(runs.filter((r) => r.arm === arm).map((r) => [r.seed, finalEndpoints(r, base.get(r.seed)!, spread)]));
  const t = by(h.treatment);
  const c = by(h.control);
  const seeds = [...t.keys()].filter((s) => c.has(s)).sort((a, b) => a - b);
  return { seeds, d: (f) => seeds.map((s) => f(t.get(s)!) - f(c.get(s)!)) };
}

/** Paired comparisons of a family: Holm-adjusted over the family when `adjust`, raw otherwise. */
export function compareFamily(family: readonly HeldoutHypothesis[], runs: RunRecord[], base: Map<number, HeldoutBase>, spread: BaseSpread, adjust: boolean): HeldoutComparison[] {
  const present = family.filter((h) => runs.some((r) => r.arm === h.treatment) && runs.some((r) => r.arm === h.control));
  const raw = present.map((h) => {
    const p = pairs(h, runs, base, spread);
    return {
      h,
      seeds: p.seeds,
      judge: pairedTests(p.d((e) => e.judge)),
      balance: pairedTests(p.d((e) => e.balance)),
      meanGain: pairedTests(p.d((e) => e.meanGain)),
      fidelity: pairedTests(p.d((e) => e.fidelity)),
    };
  });
  const adj = (ps: number[]): number[] => (adjust ? holm(ps) : ps);
  const jT = adj(raw.map((r) => r.judge.pT));
  const jW = adj(raw.map((r) => r.judge.pWilcoxon));
  const bT = adj(raw.map((r) => r.balance.pT));
  const bW = adj(raw.map((r) => r.balance.pWilcoxon));
  return raw.map((r, k) => {
    const judge = endpointTest(r.judge, jT[k]!, jW[k]!);
    const balance = endpointTest(r.balance, bT[k]!, bW[k]!);
    const guardHolds = r.fidelity.mean >= HELDOUT_GUARD;
    return { ...r.h, seeds: r.seeds, judge, balance, meanGain: r.meanGain, fidelity: r.fidelity, guardHolds, outcome: outcomeOf(judge, balance, guardHolds) };
  });
}

export type PaperVerdict = 'reproduced' | 'partially reproduced' | 'not reproduced' | 'not tested';

export interface HeldoutVerdict {
  /** The paper's claim (H1-H3): reproduced when OTCA, MOCA and TCD all beat DanceGRPO by the rule. */
  paper: PaperVerdict;
  /** Group standardisation of f (H4, H5). */
  groupStandardisation: 'helps MOCA and OTCA' | 'helps MOCA only' | 'helps OTCA only' | 'hurts' | 'not shown' | 'not tested';
  /** OTCA against GDPO (H6). */
  againstGdpo: 'OTCA better' | 'GDPO better' | 'not shown' | 'not tested';
}

export function heldoutVerdict(conf: HeldoutComparison[]): HeldoutVerdict {
  const get = (id: string): HeldoutComparison | undefined => conf.find((c) => c.id === id);
  const tested = (c: HeldoutComparison | undefined): c is HeldoutComparison => c !== undefined && c.seeds.length >= 2;
  const comps = ['H1', 'H2', 'H3'].map(get);
  let paper: PaperVerdict = 'not tested';
  if (comps.every(tested)) {
    const n = comps.filter((c) => c!.outcome === 'supported').length;
    paper = n === 3 ? 'reproduced' : n > 0 ? 'partially reproduced' : 'not reproduced';
  }
  const [h4, h5] = [get('H4'), get('H5')];
  let group: HeldoutVerdict['groupStandardisation'] = 'not tested';
  if (tested(h4) && tested(h5)) {
    const [a, b] = [h4.outcome === 'supported', h5.outcome === 'supported'];
    group = a && b ? 'helps MOCA and OTCA' : a ? 'helps MOCA only' : b ? 'helps OTCA only' : h4.outcome === 'reversed' || h5.outcome === 'reversed' ? 'hurts' : 'not shown';
  }
  const h6 = get('H6');
  const againstGdpo: HeldoutVerdict['againstGdpo'] = !tested(h6) ? 'not tested' : h6.outcome === 'supported' ? 'OTCA better' : h6.outcome === 'reversed' ? 'GDPO better' : 'not shown';
  return { paper, groupStandardisation: group, againstGdpo };
}

// ---- secondary: matched drift, plateau

/**
 * The pre-specified matched-drift comparison (secondary, uncorrected): the treatment's final mean
 * per-reward gain minus the control's at the same fidelity gain, the control's curve interpolated
 * linearly between its checkpoints (the first segment that crosses the treatment's final fidelity
 * gain); undefined where the control's curve never reaches it.
 */
export function meanGainAtMatchedDrift(t: RunRecord, c: RunRecord, base: HeldoutBase, spread: BaseSpread): number | undefined {
  const target = finalEndpoints(t, base, spread);
  const curve = c.evalIters.map((_, j) => endpointsAt(c, j, base, spread));
  for (let j = 0; j + 1 < curve.length; j++) {
    const [a, b] = [curve[j]!, curve[j + 1]!];
    if ((target.fidelity - a.fidelity) * (target.fidelity - b.fidelity) <= 0 && a.fidelity !== b.fidelity) {
      const u = (target.fidelity - a.fidelity) / (b.fidelity - a.fidelity);
      return target.meanGain - (a.meanGain + u * (b.meanGain - a.meanGain));
    }
  }
  return undefined;
}

export interface MatchedDrift {
  arm: ArmName;
  seeds: number[];
  test: PairedTest | undefined;
}

/** Every arm against DanceGRPO at matched drift. */
export function matchedDrift(runs: RunRecord[], base: Map<number, HeldoutBase>, spread: BaseSpread, arms: readonly ArmName[]): MatchedDrift[] {
  return arms
    .filter((a) => a !== 'dancegrpo' && runs.some((r) => r.arm === 'dancegrpo'))
    .map((arm) => {
      const seeds: number[] = [];
      const d: number[] = [];
      for (const t of runs.filter((r) => r.arm === arm)) {
        const c = runs.find((r) => r.arm === 'dancegrpo' && r.seed === t.seed);
        const v = c && meanGainAtMatchedDrift(t, c, base.get(t.seed)!, spread);
        if (v !== undefined) {
          seeds.push(t.seed);
          d.push(v);
        }
      }
      return { arm, seeds, test: d.length >= 2 ? pairedTests(d) : undefined };
    });
}

/**
 * The plateau check of the budget: DanceGRPO (at its chosen rate, on the evaluation seeds) has
 * levelled off when its mean primary gained over the last fifth of the run (from the checkpoint
 * before the last to the end) is at most 10% of its final mean primary.
 */
export function plateau(runs: RunRecord[], base: Map<number, HeldoutBase>, spread: BaseSpread, arm: ArmName = 'dancegrpo'): { arm: ArmName; final: number; before: number; beforeIter: number; levelled: boolean } | undefined {
  const rs = runs.filter((r) => r.arm === arm);
  if (rs.length === 0 || rs[0]!.evalIters.length < 3) return undefined;
  const n = rs[0]!.evalIters.length;
  const at = (j: number): number => rs.reduce((a, r) => a + endpointsAt(r, j, base.get(r.seed)!, spread).judge, 0) / rs.length;
  const final = at(n - 1);
  const before = at(n - 2);
  return { arm, final, before, beforeIter: rs[0]!.evalIters[n - 2]!, levelled: final - before <= 0.1 * Math.abs(final) };
}

export interface HeldoutAnalysis {
  endpoints: { arm: ArmName; lr: number; perSeed: Endpoints[] }[];
  confirmatory: HeldoutComparison[];
  exploratory: HeldoutComparison[];
  verdict: HeldoutVerdict;
  matchedDrift: MatchedDrift[];
  plateau: ReturnType<typeof plateau>;
}

/** The pre-registered analysis of the evaluation runs (one rate per arm, chosen on the tuning seeds). */
export function analyseHeldout(runs: RunRecord[], base: Map<number, HeldoutBase>, spread: BaseSpread, arms: readonly ArmName[]): HeldoutAnalysis {
  const endpoints = arms.map((arm) => {
    const rs = runs.filter((r) => r.arm === arm).sort((a, b) => a.seed - b.seed);
    return { arm, lr: rs[0]?.lr ?? NaN, perSeed: rs.map((r) => finalEndpoints(r, base.get(r.seed)!, spread)) };
  });
  const confirmatory = compareFamily(HELDOUT_CONFIRMATORY, runs, base, spread, true);
  const exploratory = compareFamily(HELDOUT_EXPLORATORY, runs, base, spread, false);
  return {
    endpoints,
    confirmatory,
    exploratory,
    verdict: heldoutVerdict(confirmatory),
    matchedDrift: matchedDrift(runs, base, spread, arms),
    plateau: plateau(runs, base, spread),
  };
}

export function shortLabel(arm: ArmName): string {
  return ARMS[arm].short;
}
