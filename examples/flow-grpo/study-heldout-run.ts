/**
 * `npm run demo -- --study 2026-12-07`: runs the pre-registered 2026-12-07 study (tuning, then
 * evaluation) and writes its report: RESULTS.md, curves.svg, tuning.svg, frontier.svg,
 * samples.svg/.png and results.json (every run, the tuning grid, the analysis).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ARMS, type ArmName } from './advantages.js';
import type { Args } from './cli.js';
import { CLASSES, D, NUM_CLASSES, SIDE } from './data.js';
import { JUDGE_CONFIG, theJudge } from './judge.js';
import type { VelocityNet } from './model.js';
import { runAll } from './pool.js';
import { COLORS, fmtP, imageGridPng, imageGridSvg, lineChartsSvg, markdownTable, meanStd, type Panel } from './report.js';
import { K, REWARD_NAMES } from './rewards.js';
import { sigmaSchedule } from './sampler.js';
import {
  type EndpointTest,
  HELDOUT_ALPHA,
  HELDOUT_ARMS,
  HELDOUT_CONFIRMATORY,
  HELDOUT_GUARD,
  HELDOUT_PLAN,
  type HeldoutAnalysis,
  type HeldoutBase,
  type HeldoutComparison,
  STUDY_ID,
  type TuningChoice,
  analyseHeldout,
  chooseRates,
  endpointsAt,
} from './study-heldout.js';
import { type BaseSpread, type RunJob, type RunRecord, baseSpread, evalSetFor } from './study.js';
import { type TrainConfig, evaluate, makeEvalSet } from './trainer.js';

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Whether this invocation is the pre-registered configuration (else the report says it is not). */
export function isPreregistered(args: Args): boolean {
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, k) => v === b[k]);
  return (
    args.iters === HELDOUT_PLAN.iters &&
    args.evalEvery === HELDOUT_PLAN.evalEvery &&
    args.seeds === HELDOUT_PLAN.evalSeeds &&
    same(args.tuningSeeds, HELDOUT_PLAN.tuningSeeds) &&
    same(args.lrs, HELDOUT_PLAN.lrGrid) &&
    args.arms.length === HELDOUT_ARMS.length &&
    args.arms.every((a, k) => a === HELDOUT_ARMS[k])
  );
}

/** Per-seed base evaluations (checkpoint 0 of every run), checked equal across the runs of a seed. */
function basesOf(runs: RunRecord[]): Map<number, HeldoutBase> {
  const out = new Map<number, HeldoutBase>();
  for (const r of runs) {
    const b = { rewards: r.evalRewards[0]!, heldOut: r.evalHeldOut[0]!, judge: r.evalJudge[0]! };
    const prev = out.get(r.seed);
    if (prev && (prev.heldOut !== b.heldOut || prev.judge !== b.judge || prev.rewards.some((v, k) => v !== b.rewards[k]))) {
      throw new Error(`the base model's evaluation differs between runs of seed ${r.seed}: the runs are not on common ground`);
    }
    out.set(r.seed, b);
  }
  return out;
}

export interface HeldoutOutcome {
  tuningRuns: RunRecord[];
  choices: TuningChoice[];
  runs: RunRecord[];
  analysis: HeldoutAnalysis;
  spread: BaseSpread;
  bases: Map<number, HeldoutBase>;
  seconds: { total: number; tuning: number; evaluation: number };
}

/** The study: tuning on the tuning seeds, each arm's rate frozen, then the evaluation seeds. */
export async function runHeldoutStudy(args: Args, base: VelocityNet, cfg: TrainConfig, tfBackend: string, t0: number): Promise<HeldoutOutcome> {
  const weights = base.getWeights();
  const hidden = base.hidden;
  const pre = isPreregistered(args);
  const judge = theJudge();
  console.log(
    `study ${STUDY_ID}${pre ? '' : ' (NOT the pre-registered configuration)'}: ${args.arms.length} arms; tuning ${args.tuningSeeds.length} seed(s) x ${args.lrs.length} rates; ` +
      `evaluation ${args.seeds} seed(s); ${args.iters} iterations, held-out checkpoints every ${args.evalEvery}; ${args.jobs} worker(s); tfjs ${tfBackend}. ` +
      `Judge: accuracy ${judge.realAccuracy.toFixed(3)} on real images.`,
  );
  const sigmas = sigmaSchedule(cfg.T, cfg.shift);
  const spreadSet = makeEvalSet(64, 31337);
  const spread = baseSpread(evaluate(base, spreadSet, sigmas), spreadSet.cls);
  mkdirSync(args.out, { recursive: true });
  const progress = join(args.out, 'progress.json');

  const job = (arm: ArmName, seed: number, lr: number, keepImages: number): RunJob => ({
    arm,
    seed,
    iters: args.iters,
    evalEvery: args.evalEvery,
    cfg: { ...cfg, lr },
    evalPerClass: HELDOUT_PLAN.evalPerClass,
    keepImages,
  });
  const tt = performance.now();
  const tuningJobs = args.tuningSeeds.flatMap((seed) => args.arms.flatMap((arm) => args.lrs.map((lr) => job(arm, seed, lr, 0))));
  console.log(`tuning: ${tuningJobs.length} runs`);
  const tuningRuns = await runAll(tuningJobs, args, weights, hidden);
  const tuningSeconds = (performance.now() - tt) / 1000;
  const tuningBases = basesOf(tuningRuns);
  const choices = chooseRates(tuningRuns, tuningBases, spread, args.arms, args.lrs);
  console.log(`rates chosen (frozen): ${choices.map((c) => `${ARMS[c.arm].short} ${c.lr}${c.atEdge ? ' (edge)' : ''}`).join(', ')}`);
  writeFileSync(progress, JSON.stringify({ partial: 'tuning done, evaluation not run', choices, tuningRuns: tuningRuns.map(({ images: _i, ...r }) => r) }));

  const te = performance.now();
  const evalJobs: RunJob[] = [];
  for (let seed = 0; seed < args.seeds; seed++) {
    for (const c of choices) evalJobs.push(job(c.arm, seed, c.lr, seed === 0 ? 16 : 0));
  }
  console.log(`evaluation: ${evalJobs.length} runs`);
  const runs = await runAll(evalJobs, args, weights, hidden);
  const evalSeconds = (performance.now() - te) / 1000;
  const bases = basesOf(runs);
  const analysis = analyseHeldout(runs, bases, spread, args.arms);
  const outcome: HeldoutOutcome = {
    tuningRuns,
    choices,
    runs,
    analysis,
    spread,
    bases,
    seconds: { total: (performance.now() - t0) / 1000, tuning: tuningSeconds, evaluation: evalSeconds },
  };
  const baseImages = evaluate(base, evalSetFor(0, HELDOUT_PLAN.evalPerClass), sigmas).images;
  writeHeldoutReport(args, cfg, outcome, tfBackend, baseImages);
  rmSync(progress, { force: true });
  return outcome;
}

function machine(): string {
  const c = cpus();
  return `${process.platform}-${process.arch}, ${c.length} x ${c[0]?.model.trim() ?? 'unknown CPU'}`;
}

const ci = (t: { mean: number; ci95: [number, number] }): string => `${t.mean.toFixed(3)} [${t.ci95[0].toFixed(3)}, ${t.ci95[1].toFixed(3)}]`;
const ms = (xs: number[]): string => {
  const m = meanStd(xs);
  return xs.length > 1 ? `${m.mean.toFixed(3)} ± ${m.std.toFixed(3)}` : m.mean.toFixed(3);
};

/** The summary lines of the verdict, for the report and the console. */
export function verdictLines(a: HeldoutAnalysis, preregistered: boolean, seeds: number): string[] {
  if (seeds < 2) return [`No verdict: ${seeds} evaluation seed; the pre-registered study has 8.`];
  const v = a.verdict;
  const lines = [
    `${preregistered ? 'Verdict (pre-registered rule)' : 'Outcome by the pre-registered rule, but NOT the pre-registered configuration (no verdict)'}: ` +
      `the paper's claim (OTCA, MOCA and TCD each beat DanceGRPO on the held-out judge and on balance) is **${v.paper}**. ` +
      a.confirmatory.map((c) => `${c.id} ${c.outcome}`).join(', ') + '.',
    `Group standardisation of f (H4, H5): **${v.groupStandardisation}**. OTCA against GDPO (H6): **${v.againstGdpo}**.`,
  ];
  if (a.plateau) {
    lines.push(
      `Budget: DanceGRPO's primary ${a.plateau.levelled ? 'had levelled off' : 'had NOT levelled off'} by the pre-registered plateau check ` +
        `(${a.plateau.before.toFixed(3)} at iteration ${a.plateau.beforeIter}, ${a.plateau.final.toFixed(3)} at the end).`,
    );
  }
  return lines;
}

function endpointCells(e: EndpointTest, adjusted: boolean): string[] {
  const p = (raw: number, adj: number): string => (adjusted ? `${fmtP(raw)} (Holm ${fmtP(adj)})` : fmtP(raw));
  return [ci(e.test), p(e.test.pT, e.pT), p(e.test.pWilcoxon, e.pW)];
}

function comparisonTable(cs: HeldoutComparison[], adjusted: boolean): string {
  return markdownTable(
    ['', 'difference', 'claim', 'judge gain: mean [95% CI]', 'p t-test', 'p Wilcoxon', 'balance: mean [95% CI]', 'p t-test', 'p Wilcoxon', 'mean reward gain', 'fidelity diff.', 'outcome'],
    cs.map((c) => [
      c.id,
      `${ARMS[c.treatment].short} − ${ARMS[c.control].short}`,
      c.claim,
      ...endpointCells(c.judge, adjusted),
      ...endpointCells(c.balance, adjusted),
      ci(c.meanGain),
      c.fidelity.mean.toFixed(3),
      c.outcome,
    ]),
  );
}

function writeHeldoutReport(args: Args, cfg: TrainConfig, o: HeldoutOutcome, tfBackend: string, baseImages: Float32Array): void {
  const { runs, analysis, spread, bases, choices, tuningRuns } = o;
  const arms = args.arms;
  const S = args.seeds;
  const pre = isPreregistered(args);
  const judge = theJudge();
  const date = new Date().toISOString().slice(0, 10);
  const command = `npm run demo${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const lines = verdictLines(analysis, pre, S);

  const endpointRows = analysis.endpoints.map((e) => [
    ARMS[e.arm].label,
    String(e.lr),
    ms(e.perSeed.map((x) => x.judge)),
    ms(e.perSeed.map((x) => x.balance)),
    ms(e.perSeed.map((x) => x.meanGain)),
    ...REWARD_NAMES.map((_, k) => ms(e.perSeed.map((x) => x.perReward[k]!))),
    ms(e.perSeed.map((x) => x.fidelity)),
    mean(runs.filter((r) => r.arm === e.arm).map((r) => r.clipFraction)).toFixed(2),
  ]);
  const endpointTable = markdownTable(
    ['arm', 'lr', 'primary: judge gain', 'co-primary: balance (min gain)', 'mean reward gain', ...REWARD_NAMES.map((n) => `${n} gain`), 'fidelity gain', 'clip frac.'],
    endpointRows,
  );
  const perSeed = markdownTable(
    ['arm', ...Array.from({ length: S }, (_, s) => `seed ${s}`)],
    analysis.endpoints.map((e) => [ARMS[e.arm].short, ...e.perSeed.map((x) => `${x.judge.toFixed(3)} / ${x.balance.toFixed(3)}`)]),
  );
  const tuningTable = markdownTable(
    ['arm', ...args.lrs.map((lr) => `lr ${lr}: judge (balance)`), 'chosen'],
    choices.map((c) => [
      ARMS[c.arm].short,
      ...c.grid.map((g) => `${g.judge.toFixed(3)} (${g.balance.toFixed(3)})`),
      `${c.lr}${c.atEdge ? ' (grid edge)' : ''}`,
    ]),
  );
  const matchedTable = markdownTable(
    ['arm − DanceGRPO', 'seeds', 'mean reward gain at matched fidelity: mean [95% CI]', 'p t-test', 'p Wilcoxon'],
    analysis.matchedDrift.map((m) => [
      ARMS[m.arm].short,
      String(m.seeds.length),
      m.test ? ci(m.test) : 'n/a',
      m.test ? fmtP(m.test.pT) : 'n/a',
      m.test ? fmtP(m.test.pWilcoxon) : 'n/a',
    ]),
  );

  // Plots.
  mkdirSync(args.out, { recursive: true });
  const evalIters = runs[0]!.evalIters;
  const curve = (pick: (r: RunRecord, j: number) => number): Panel['series'] =>
    arms.map((arm, vi) => {
      const rs = runs.filter((r) => r.arm === arm);
      const ys = evalIters.map((_, j) => meanStd(rs.map((r) => pick(r, j))));
      return { label: ARMS[arm].short, color: COLORS[vi % COLORS.length]!, x: evalIters, y: ys.map((v) => v.mean), band: S > 1 ? ys.map((v) => v.std / Math.sqrt(S)) : undefined };
    });
  const ep = (r: RunRecord, j: number): ReturnType<typeof endpointsAt> => endpointsAt(r, j, bases.get(r.seed)!, spread);
  const panels: Panel[] = [
    { title: 'primary: held-out judge gain (std units)', series: curve((r, j) => ep(r, j).judge) },
    { title: 'co-primary: balance (smallest reward gain)', series: curve((r, j) => ep(r, j).balance) },
    { title: 'mean reward gain (2026-12-05 primary)', series: curve((r, j) => ep(r, j).meanGain) },
    ...REWARD_NAMES.map((n, k) => ({ title: `${n} gain (std units)`, series: curve((r, j) => ep(r, j).perReward[k]!) })),
    { title: 'fidelity gain (drift; std units)', series: curve((r, j) => ep(r, j).fidelity) },
  ];
  writeFileSync(join(args.out, 'curves.svg'), lineChartsSvg(`Held-out checkpoints, each arm at its tuned rate: mean over ${S} seed(s)${S > 1 ? ' ± standard error' : ''}`, panels, 'iteration'));
  const tuningBases = basesOf(tuningRuns);
  const tuningPanels: Panel[] = (['judge', 'balance'] as const).map((key) => ({
    title: `tuning seeds: final ${key === 'judge' ? 'judge gain' : 'balance'} against log10 lr`,
    series: arms.map((arm, vi) => {
      const c = choices.find((x) => x.arm === arm)!;
      return { label: ARMS[arm].short, color: COLORS[vi % COLORS.length]!, x: c.grid.map((g) => Math.log10(g.lr)), y: c.grid.map((g) => g[key]) };
    }),
  }));
  void tuningBases;
  writeFileSync(join(args.out, 'tuning.svg'), lineChartsSvg(`Learning-rate tuning on seeds ${args.tuningSeeds.join(', ')} (mean over tuning seeds)`, tuningPanels, 'log10 learning rate'));
  const frontier: Panel[] = [
    {
      title: 'mean reward gain (y) against fidelity gain (x)',
      series: arms.map((arm, vi) => {
        const rs = runs.filter((r) => r.arm === arm);
        const at = (f: (r: RunRecord, j: number) => number): number[] => evalIters.map((_, j) => mean(rs.map((r) => f(r, j))));
        return { label: ARMS[arm].short, color: COLORS[vi % COLORS.length]!, x: at((r, j) => ep(r, j).fidelity), y: at((r, j) => ep(r, j).meanGain) };
      }),
    },
    {
      title: 'judge gain (y) against fidelity gain (x)',
      series: arms.map((arm, vi) => {
        const rs = runs.filter((r) => r.arm === arm);
        const at = (f: (r: RunRecord, j: number) => number): number[] => evalIters.map((_, j) => mean(rs.map((r) => f(r, j))));
        return { label: ARMS[arm].short, color: COLORS[vi % COLORS.length]!, x: at((r, j) => ep(r, j).fidelity), y: at((r, j) => ep(r, j).judge) };
      }),
    },
  ];
  writeFileSync(join(args.out, 'frontier.svg'), lineChartsSvg('Reward and judge gained against fidelity lost (checkpoints, mean over seeds)', frontier, 'fidelity gain (std units)'));
  const perRow = 16;
  const gridRows = [
    { label: 'base model (before RL)', images: baseImages.slice(0, perRow * D), count: perRow },
    ...arms.map((arm) => ({ label: ARMS[arm].label, images: runs.find((r) => r.arm === arm && r.seed === 0)?.images ?? new Float32Array(perRow * D), count: perRow })),
  ];
  writeFileSync(join(args.out, 'samples.svg'), imageGridSvg('Held-out samples before and after GRPO (seed 0, deterministic ODE, each arm at its tuned rate)', gridRows));
  writeFileSync(join(args.out, 'samples.png'), imageGridPng(gridRows));

  const baseMean = (f: (b: HeldoutBase) => number): number => mean([...bases.values()].map(f));
  const md = [
    `# flow-grpo study ${STUDY_ID}: held-out judge and balance, every arm at its tuned rate${pre ? '' : ' (NOT the pre-registered configuration)'}`,
    '',
    `Command: \`${command}\`; run ${date}; ${o.seconds.total.toFixed(0)} s in all (tuning ${o.seconds.tuning.toFixed(0)} s, evaluation ${o.seconds.evaluation.toFixed(0)} s, ` +
      `${args.jobs} worker thread(s)); tfjs backend ${tfBackend}; Node ${process.version}; ${machine()}.`,
    '',
    `The plan (hypotheses, endpoints, tests, verdict rule, tuning protocol, arms, sizes) is examples/flow-grpo/PREREGISTRATION-2026-12-07.md, committed before any tuning or evaluation run; ` +
      'study-heldout.ts applies it. The 2026-12-05 study and its report (results/2026-12-05-full) stay as they were.',
    '',
    `Setting: as 2026-12-05 (${SIDE}x${SIDE} images, T = ${cfg.T}, G = ${cfg.G} from one initial noise, ${cfg.prompts} prompts per iteration, K = ${K} rewards ` +
      `${REWARD_NAMES.join(', ')}, ratio clip ${cfg.clipRange}, ${cfg.minibatches} Adam steps per iteration), except the learning rate, tuned per arm over ${args.lrs.join(', ')} on ` +
      `tuning seeds ${args.tuningSeeds.join(', ')}, and ${args.iters} iterations; held-out checkpoints every ${args.evalEvery} iterations on each seed's own ${NUM_CLASSES * HELDOUT_PLAN.evalPerClass} prompts/noises ` +
      `(deterministic ODE); evaluation seeds 0 to ${S - 1}, common random numbers across arms. Classes ("prompts"): ${CLASSES.join(', ')}.`,
    '',
    '## Verdict',
    '',
    ...lines.flatMap((l) => [l, '']),
    `Endpoints, each a gain over the base model on the same seed's held-out set in units of the base model's within-prompt std: ` +
      `**primary**, the held-out judge's score (log p(prompt | image) of a classifier of the four prompts fitted on real images and frozen; no arm trains on it; std ${spread.judge.toFixed(4)}); ` +
      `**co-primary**, balance, the smallest of the ${K} per-reward gains (stds ${REWARD_NAMES.map((n, k) => `${n} ${spread.rewards[k]!.toFixed(3)}`).join(', ')}); ` +
      `secondary: the mean per-reward gain (the 2026-12-05 primary), fidelity (std ${spread.heldOut.toFixed(4)}) and the mean reward gain at matched fidelity. ` +
      `A hypothesis is supported when the treatment beats its control on both co-primary endpoints (paired t-test and exact Wilcoxon signed-rank, each Holm-adjusted over the ` +
      `${HELDOUT_CONFIRMATORY.length} confirmatory hypotheses separately per endpoint, both < ${HELDOUT_ALPHA}, mean difference > 0) and its fidelity is not lower by more than ${-HELDOUT_GUARD} std; ` +
      'reversed when it is significantly worse on the primary (both tests).',
    '',
    '## Confirmatory tests',
    '',
    S < 2 ? '(paired tests need at least 2 seeds)' : comparisonTable(analysis.confirmatory, true),
    '',
    '## Exploratory comparisons (uncorrected, descriptive)',
    '',
    S < 2 ? '(paired tests need at least 2 seeds)' : comparisonTable(analysis.exploratory, false),
    '',
    '## Secondary, pre-specified: mean reward gain at matched fidelity (uncorrected)',
    '',
    "Each arm's final mean per-reward gain minus DanceGRPO's at the same fidelity gain, DanceGRPO's curve interpolated between its checkpoints of the same seed.",
    '',
    matchedTable,
    '',
    '![frontier](frontier.svg)',
    '',
    `## Held-out endpoints after ${args.iters} iterations (mean ± std over ${S} seeds)`,
    '',
    `Base model (mean over seeds): judge ${baseMean((b) => b.judge).toFixed(3)}, ${REWARD_NAMES.map((n, k) => `${n} ${baseMean((b) => b.rewards[k]!).toFixed(2)}`).join(', ')}, fidelity ${baseMean((b) => b.heldOut).toFixed(3)}.`,
    '',
    endpointTable,
    '',
    'Primary / co-primary per seed:',
    '',
    perSeed,
    '',
    '![curves](curves.svg)',
    '',
    '![samples](samples.svg)',
    '',
    '## Tuning (seeds disjoint from the evaluation seeds)',
    '',
    `Mean over tuning seeds ${args.tuningSeeds.join(', ')} of the final primary (judge gain) and, in brackets, balance; the rate with the highest mean primary is chosen (ties: the smaller) and frozen.`,
    '',
    tuningTable,
    '',
    '![tuning](tuning.svg)',
    '',
    '## The held-out judge',
    '',
    `Multinomial logistic regression on the pixel intensities (256 + bias, 4 classes), fitted once in float64 on ${JUDGE_CONFIG.images} real images (seed ${JUDGE_CONFIG.seed}; ` +
      `${JUDGE_CONFIG.steps} full-batch gradient steps, momentum 0.9, learning rate ${JUDGE_CONFIG.learningRate}, L2 ${JUDGE_CONFIG.l2}) and frozen. On 1,024 fresh real images: ` +
      `accuracy ${judge.realAccuracy.toFixed(3)}, mean log p(true class) ${judge.realMeanLogProb.toFixed(3)}. Score: log p(prompt | image), 0 at most.`,
    '',
  ].join('\n');
  writeFileSync(join(args.out, 'RESULTS.md'), md);
  const round = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v);
  writeFileSync(
    join(args.out, 'results.json'),
    JSON.stringify(
      {
        study: STUDY_ID,
        preregistered: pre,
        date,
        command,
        machine: machine(),
        node: process.version,
        tfBackend,
        seconds: o.seconds,
        args: { ...args, out: undefined },
        config: cfg,
        plan: HELDOUT_PLAN,
        judge: { config: JUDGE_CONFIG, realAccuracy: judge.realAccuracy, realMeanLogProb: judge.realMeanLogProb },
        spread,
        base: Object.fromEntries(bases),
        tuning: { choices, runs: tuningRuns.map(({ images: _i, ...r }) => r) },
        analysis,
        runs: runs.map(({ images: _i, ...r }) => r),
      },
      round,
    ),
  );
  console.log(`\n${lines.join('\n')}\nWrote ${join(args.out, 'RESULTS.md')}, curves.svg, tuning.svg, frontier.svg, samples.svg, samples.png, results.json.`);
}
