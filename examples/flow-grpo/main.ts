/**
 * `npm run demo [-- --full]`: GRPO post-training of a small class-conditional rectified-flow model
 * with otca's per-step advantages; the paper's 4-variant ablation, credit diagnostics, a report.
 *
 * Flags: --full (3 seeds, longer runs, 516 diagnostic trajectories), --seeds N, --iters N,
 * --variants a,b, --out DIR (default dist/demo-output), --backend wasm|cpu (tfjs), --device
 * auto|cpu|cuda (otca), --pretrain (re-train the base model instead of loading the shipped weights).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { CLASSES, D } from './data.js';
import { VelocityNet } from './model.js';
import { HIDDEN, PRETRAIN_DEFAULTS, WEIGHTS_PATH, pretrain } from './pretrain.js';
import { HELDOUT_NAME, K, REWARD_NAMES } from './rewards.js';
import { GrpoTrainer, TRAIN_DEFAULTS, type TrainConfig, evaluate, makeEvalSet } from './trainer.js';
import { VARIANTS, VARIANT_NAMES, type VariantName, advantageSettings, advantageTiming } from './advantages.js';
import { creditStudy } from './credit.js';
import { COLORS, fmt, imageGridPng, imageGridSvg, lineChartsSvg, markdownTable, meanStd, type Panel } from './report.js';
import { initBackend } from './tf.js';

interface Args {
  full: boolean;
  seeds: number;
  iters: number;
  evalEvery: number;
  creditGroups: number;
  variants: VariantName[];
  out: string;
  backend: 'wasm' | 'cpu';
  device: 'auto' | 'cpu' | 'cuda';
  pretrain: boolean;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const k = argv.indexOf(name);
    return k >= 0 ? argv[k + 1] : undefined;
  };
  const full = argv.includes('--full');
  const variants = (get('--variants')?.split(',') ?? VARIANT_NAMES) as VariantName[];
  for (const v of variants) {
    if (!(v in VARIANTS)) throw new RangeError(`Expected one of ${VARIANT_NAMES.join(', ')} for --variants but received ${v}`);
  }
  const iters = Number(get('--iters') ?? (full ? 400 : 150));
  return {
    full,
    seeds: Number(get('--seeds') ?? (full ? 3 : 1)),
    iters,
    evalEvery: Math.max(1, Math.round(iters / 8)),
    creditGroups: full ? 43 : 8,
    variants,
    out: resolve(get('--out') ?? join('dist', 'demo-output')),
    backend: (get('--backend') as 'wasm' | 'cpu') ?? 'wasm',
    device: (get('--device') as Args['device']) ?? 'auto',
    pretrain: argv.includes('--pretrain'),
  };
}

interface RunRecord {
  variant: VariantName;
  seed: number;
  /** Training batch mean of each reward per iteration [iters][K]. */
  train: number[][];
  /** Held-out evaluation at checkpoints. */
  evalIters: number[];
  evalRewards: number[][];
  evalHeldOut: number[];
  final: { rewards: number[]; heldOut: number };
  images: Float32Array;
  seconds: number;
  clipFraction: number;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cfg: TrainConfig = { ...TRAIN_DEFAULTS };
  const t0 = performance.now();
  advantageSettings.device = args.device;
  const tfBackend = await initBackend(args.backend);
  console.log(
    `tfjs backend ${tfBackend}; ` +
      `${args.full ? 'full' : 'short'} run: ${args.variants.length} variants x ${args.seeds} seed(s) x ${args.iters} iterations`,
  );
  console.log(
    `config: D=${D} (8x8), T=${cfg.T} SDE steps (eta ${cfg.eta}), G=${cfg.G}, ${cfg.prompts} prompts/iteration, K=${K} rewards ` +
      `(${REWARD_NAMES.join(', ')}), held out: ${HELDOUT_NAME}; Adam lr ${cfg.lr}, ratio clip ${cfg.clipRange}, ${cfg.minibatches} steps/iteration`,
  );

  // Base model: the shipped weights, or pre-train now.
  const base = new VelocityNet({ hidden: HIDDEN }, PRETRAIN_DEFAULTS.seed);
  if (args.pretrain || !existsSync(WEIGHTS_PATH)) {
    const bar = new cliProgress.SingleBar({ format: 'pretrain base model |{bar}| {value}/{total} loss {loss}', hideCursor: true }, cliProgress.Presets.shades_classic);
    bar.start(PRETRAIN_DEFAULTS.steps, 0, { loss: '-' });
    pretrain(base, PRETRAIN_DEFAULTS, (s, l) => {
      if (s % 20 === 0) bar.update(s + 1, { loss: l.toFixed(4) });
    });
    bar.update(PRETRAIN_DEFAULTS.steps);
    bar.stop();
  } else {
    base.load(WEIGHTS_PATH);
  }
  const baseWeights = base.getWeights();
  const evalSet = makeEvalSet(16);
  const baseEval = evaluate(base, evalSet, cfg.T);

  // Credit diagnostics on the base model's held-out SDE trajectories.
  const credit = creditStudy(base, args.creditGroups, cfg.G, cfg.T, cfg.eta, 99);
  console.log(`otca advantages computed on: ${credit.backend}`);

  // The ablation.
  const runs: RunRecord[] = [];
  const multibar = new cliProgress.MultiBar(
    {
      format: '{name} {bar} {value}/{total} | align {a} contr. {c} smooth {s} | {rate}',
      barsize: 16,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const tty = process.stderr.isTTY;
  for (let seed = 0; seed < args.seeds; seed++) {
    for (const variant of args.variants) {
      const name = `${variant.padEnd(9)} seed ${seed}`;
      const bar = tty ? multibar.create(args.iters, 0, { name, a: '-', c: '-', s: '-', rate: '' }) : undefined;
      const net = new VelocityNet({ hidden: HIDDEN });
      net.setWeights(baseWeights);
      const trainer = new GrpoTrainer(net, variant, cfg, 1000 + seed);
      const rec: RunRecord = {
        variant,
        seed,
        train: [],
        evalIters: [0],
        evalRewards: [baseEval.rewards],
        evalHeldOut: [baseEval.heldOut],
        final: { rewards: [], heldOut: 0 },
        images: new Float32Array(0),
        seconds: 0,
        clipFraction: 0,
      };
      const start = performance.now();
      let clip = 0;
      for (let it = 1; it <= args.iters; it++) {
        const { stats } = trainer.step();
        rec.train.push(stats.rewards);
        clip += stats.clipFraction;
        if (it % args.evalEvery === 0 || it === args.iters) {
          const e = evaluate(net, evalSet, cfg.T);
          rec.evalIters.push(it);
          rec.evalRewards.push(e.rewards);
          rec.evalHeldOut.push(e.heldOut);
          if (it === args.iters) {
            rec.final = { rewards: e.rewards, heldOut: e.heldOut };
            rec.images = e.images;
          }
        }
        const w = rec.train.slice(-10);
        bar?.update(it, {
          a: mean(w.map((r) => r[0]!)).toFixed(3),
          c: mean(w.map((r) => r[1]!)).toFixed(3),
          s: mean(w.map((r) => r[2]!)).toFixed(3),
          rate: `${((performance.now() - start) / it).toFixed(0)} ms/it`,
        });
      }
      rec.seconds = (performance.now() - start) / 1000;
      rec.clipFraction = clip / args.iters;
      trainer.dispose();
      net.dispose();
      runs.push(rec);
      if (!tty) {
        console.log(
          `${name}: ${rec.seconds.toFixed(1)} s, final ${REWARD_NAMES.map((n, k) => `${n} ${rec.final.rewards[k]!.toFixed(3)}`).join(', ')}, ${HELDOUT_NAME} ${rec.final.heldOut.toFixed(3)}`,
        );
      }
    }
  }
  multibar.stop();

  // ---- report
  const S = args.seeds;
  const header = ['variant', ...REWARD_NAMES, 'mean of 3', `${HELDOUT_NAME} (held out)`, 'clip frac.', 's/run'];
  const rows: string[][] = [
    [
      'base model (before RL)',
      ...baseEval.rewards.map((r) => r.toFixed(3)),
      mean(baseEval.rewards).toFixed(3),
      baseEval.heldOut.toFixed(3),
      '',
      '',
    ],
  ];
  for (const v of args.variants) {
    const rs = runs.filter((r) => r.variant === v);
    rows.push([
      VARIANTS[v].label,
      ...REWARD_NAMES.map((_, k) => fmt(meanStd(rs.map((r) => r.final.rewards[k]!)), S)),
      fmt(meanStd(rs.map((r) => mean(r.final.rewards))), S),
      fmt(meanStd(rs.map((r) => r.final.heldOut)), S),
      mean(rs.map((r) => r.clipFraction)).toFixed(2),
      mean(rs.map((r) => r.seconds)).toFixed(1),
    ]);
  }
  const table = markdownTable(header, rows);
  const metricNames = ['Pearson', 'Spearman', 'pairwise', 'Recall@3', 'Recall@5', 'argmax dist.'];
  const keys = ['pearson', 'spearman', 'pairwise', 'recall3', 'recall5', 'argmaxDistance'] as const;
  const creditRows = [
    ['paper, Table 5 (FLUX, 511 traj.)', '', ...keys.map((k) => credit.paper[k].toFixed(3))],
    ...credit.rows.map((r) => [r.decode === 'x0hat' ? 'x0-hat' : 'z_t', r.score, ...keys.map((k) => r.metrics[k].toFixed(3))]),
  ];
  const creditTable = markdownTable(['decoded', 'score R', ...metricNames], creditRows);

  console.log(`\nFinal held-out evaluation (${evalSet.cls.length} fixed prompts/seeds, deterministic ODE, ${cfg.T} steps)${S > 1 ? `, mean ± std over ${S} seeds` : ''}:\n`);
  console.log(table);
  console.log(`\nCredit diagnostics: dS (otca 'deltaS') vs dR per step, ${credit.trajectories} held-out SDE trajectories of the base model:\n`);
  console.log(creditTable);

  // Files.
  mkdirSync(args.out, { recursive: true });
  const itersAxis = Array.from({ length: args.iters }, (_, k) => k + 1);
  const smooth = (ys: number[], w = 10): number[] => ys.map((_, k) => mean(ys.slice(Math.max(0, k - w + 1), k + 1)));
  const seriesOf = (pick: (r: RunRecord) => number[], x: number[]): Panel['series'] =>
    args.variants.map((v, vi) => {
      const rs = runs.filter((r) => r.variant === v).map(pick);
      const ys = x.map((_, k) => meanStd(rs.map((r) => r[k]!)));
      return { label: VARIANTS[v].label, color: COLORS[vi % COLORS.length]!, x, y: ys.map((m) => m.mean), band: S > 1 ? ys.map((m) => m.std) : undefined };
    });
  const panels: Panel[] = [
    ...REWARD_NAMES.map((n, k) => ({ title: `train: ${n} (batch mean, 10-it avg)`, series: seriesOf((r) => smooth(r.train.map((t) => t[k]!)), itersAxis) })),
    { title: 'eval: mean of the 3 rewards (ODE)', series: seriesOf((r) => r.evalRewards.map(mean), runs[0]!.evalIters) },
    { title: `eval: ${HELDOUT_NAME} (held out, ODE)`, series: seriesOf((r) => r.evalHeldOut, runs[0]!.evalIters) },
    { title: 'eval: align (ODE)', series: seriesOf((r) => r.evalRewards.map((e) => e[0]!), runs[0]!.evalIters) },
  ];
  writeFileSync(join(args.out, 'curves.svg'), lineChartsSvg(`GRPO on a toy rectified-flow model: reward curves${S > 1 ? ` (mean ± std over ${S} seeds)` : ''}`, panels, 'iteration'));
  const perRow = 16;
  const pick = (images: Float32Array): Float32Array => images.slice(0, perRow * D);
  const gridRows = [
    { label: 'base model (before)', images: pick(baseEval.images), count: perRow },
    ...args.variants.map((v) => ({ label: VARIANTS[v].label, images: pick(runs.find((r) => r.variant === v && r.seed === 0)!.images), count: perRow })),
  ];
  writeFileSync(join(args.out, 'samples.svg'), imageGridSvg('Samples before and after GRPO (seed 0)', gridRows));
  writeFileSync(join(args.out, 'samples.png'), imageGridPng(gridRows));
  const seconds = (performance.now() - t0) / 1000;
  const advMs = advantageTiming.ms / Math.max(1, advantageTiming.calls);
  const trainMs = (1000 * runs.reduce((a, r) => a + r.seconds, 0)) / Math.max(1, runs.length * args.iters);
  const timing =
    `otca advantage step (N=${cfg.prompts * cfg.G}, T=${cfg.T}, D=${D}, ${credit.backend}): ${advMs.toFixed(3)} ms per call on average ` +
    `(${advantageTiming.calls} calls), against ${trainMs.toFixed(0)} ms per whole GRPO iteration (sampling, rewards, 4 Adam steps, periodic evaluation).`;
  console.log(`\n${timing}`);
  const date = new Date().toISOString().slice(0, 10);
  const md = [
    `# flow-grpo demo results (${date}, ${args.full ? 'full' : 'short'} run)`,
    '',
    `Command: \`npm run demo${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\`; total ${seconds.toFixed(0)} s; ` +
      `otca backend ${credit.backend}; tfjs backend ${tfBackend}; Node ${process.version}; ${os()}.`,
    '',
    `Config: D=${D} (8x8 images), T=${cfg.T} SDE steps (eta ${cfg.eta}), G=${cfg.G}, ${cfg.prompts} prompts per iteration (N=${cfg.prompts * cfg.G}), ` +
      `K=${K} rewards (${REWARD_NAMES.join(', ')}), Adam lr ${cfg.lr}, ratio clip ${cfg.clipRange}, ${cfg.minibatches} Adam steps per iteration, ` +
      `${args.iters} iterations, ${args.seeds} seed(s). Classes ("prompts"): ${CLASSES.join(', ')}.`,
    '',
    timing,
    '',
    `## Held-out evaluation (${evalSet.cls.length} fixed prompts/seeds, deterministic ODE sampling)`,
    '',
    table,
    '',
    '![reward curves](curves.svg)',
    '',
    '![samples](samples.svg)',
    '',
    `Rows of samples.svg / samples.png: ${gridRows.map((r) => r.label).join('; ')}.`,
    '',
    `## Credit diagnostics (${credit.trajectories} held-out SDE trajectories of the base model)`,
    '',
    creditTable,
    '',
  ].join('\n');
  writeFileSync(join(args.out, 'RESULTS.md'), md);
  writeFileSync(
    join(args.out, 'results.json'),
    JSON.stringify(
      {
        date,
        args: { ...args, out: undefined },
        config: cfg,
        base: { rewards: baseEval.rewards, heldOut: baseEval.heldOut },
        runs: runs.map(({ images: _images, ...r }) => r),
        credit,
      },
      (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v),
    ),
  );
  console.log(`\nWrote ${join(args.out, 'RESULTS.md')}, curves.svg, samples.svg, samples.png, results.json (${seconds.toFixed(0)} s in all).`);
}

function os(): string {
  return `${process.platform}-${process.arch}`;
}

await main();
