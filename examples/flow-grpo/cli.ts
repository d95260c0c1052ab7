/**
 * The demo's command line: its flags, parsed with node:util's parseArgs, and its usage text.
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ARM_NAMES, type ArmName, STUDY_1205_ARMS } from './advantages.js';
import { HELDOUT_ARMS, HELDOUT_PLAN, STUDY_ID } from './study-heldout.js';
import { TRAIN_DEFAULTS } from './trainer.js';

export const USAGE = `Usage: npm run demo -- [flags]

GRPO post-training of a toy rectified-flow image model with otca's per-step advantages: six arms
(Flow-GRPO, DanceGRPO, TCD, TCD with a fixed profile, MOCA, OTCA), the credit diagnostics with their
null and residual, and a report (RESULTS.md, curves.svg, samples.svg/.png, results.json).

  --full               the pre-registered 2026-12-05 study: 8 seeds x 6 arms x 120 iterations, 516
                       diagnostic trajectories (about 11 minutes on 2 cores); default: a short run,
                       1 seed x 6 arms x 40 iterations, 48 trajectories (under a minute)
  --study ${STUDY_ID}   the pre-registered ${STUDY_ID} study: held-out judge and balance as endpoints,
                       8 arms, each arm's learning rate tuned on ${HELDOUT_PLAN.tuningSeeds.length} tuning seeds over
                       ${HELDOUT_PLAN.lrGrid.join(', ')}, then 8 evaluation seeds x ${HELDOUT_PLAN.iters} iterations
                       (about 15 minutes on 2 idle cores); report in ${HELDOUT_PLAN.out}
  --tuning-seeds N     with --study: number of tuning seeds (default ${HELDOUT_PLAN.tuningSeeds.length}; a smaller or larger
                       number is not the pre-registered study)
  --lrs a,b,...        with --study: the learning-rate grid (default ${HELDOUT_PLAN.lrGrid.join(',')})
  --seeds N            number of seeds (each has its own training noise and held-out set)
  --iters N            GRPO iterations per run
  --arms a,b,...       arms to run, from: ${ARM_NAMES.join(', ')}
                       (default: the first six; with --study: the study's eight)
  --credit-groups N    groups of ${TRAIN_DEFAULTS.G} base-model trajectories for the credit diagnostics
  --jobs N             worker threads training runs in parallel (default: min(2, cores))
  --out DIR            where the report goes (default: dist/demo-output)
  --backend wasm|cpu   tfjs backend (default wasm)
  --device auto|cpu|cuda
                       where otca runs (default auto)
  --pretrain           re-train the base model (about 7 minutes) instead of loading the shipped weights
  --calibrate          print the rewards' calibration on the base model and exit
  -h, --help           print this and exit`;

export interface Args {
  full: boolean;
  /** The 2026-12-07 study (--study), or undefined. */
  study: typeof STUDY_ID | undefined;
  /** With --study: the tuning seeds and the learning-rate grid. */
  tuningSeeds: number[];
  lrs: number[];
  seeds: number;
  iters: number;
  evalEvery: number;
  creditGroups: number;
  arms: ArmName[];
  jobs: number;
  out: string;
  backend: 'wasm' | 'cpu';
  device: 'auto' | 'cpu' | 'cuda';
  pretrain: boolean;
  calibrate: boolean;
}

/** A bad flag or value: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {}

function positiveInt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`Expected an integer >= 1 for --${name} but received ${v}`);
  return Number(v);
}

function positiveNumber(name: string, v: string): number {
  const x = Number(v);
  if (v === '' || !Number.isFinite(x) || x <= 0) throw new UsageError(`Expected a number > 0 for --${name} but received ${v}`);
  return x;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`Expected one of ${allowed.join(', ')} for --${name} but received ${v}`);
  return v as T;
}

/** The CLI's flags (node:util parseArgs); null after --help. Throws UsageError for a bad flag or value. */
export function parseCli(argv: string[]): Args | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        full: { type: 'boolean', default: false },
        study: { type: 'string' },
        'tuning-seeds': { type: 'string' },
        lrs: { type: 'string' },
        seeds: { type: 'string' },
        iters: { type: 'string' },
        arms: { type: 'string' },
        'credit-groups': { type: 'string' },
        jobs: { type: 'string' },
        out: { type: 'string' },
        backend: { type: 'string' },
        device: { type: 'string' },
        pretrain: { type: 'boolean', default: false },
        calibrate: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return null;
  const full = values.full!;
  const study = values.study === undefined ? undefined : oneOf('study', values.study, [STUDY_ID] as const, STUDY_ID);
  if (study && full) throw new UsageError(`Expected at most one of --full and --study but received both`);
  if (!study && (values['tuning-seeds'] !== undefined || values.lrs !== undefined)) {
    throw new UsageError(`Expected --study ${STUDY_ID} with --tuning-seeds and --lrs but received no --study`);
  }
  const arms = (values.arms?.split(',') ?? (study ? HELDOUT_ARMS : STUDY_1205_ARMS)).map((a) => oneOf('arms', a.trim(), ARM_NAMES, 'otca'));
  const iters = positiveInt('iters', values.iters, study ? HELDOUT_PLAN.iters : full ? 120 : 40);
  const lrs = values.lrs === undefined ? [...HELDOUT_PLAN.lrGrid] : values.lrs.split(',').map((v) => positiveNumber('lrs', v.trim()));
  const tuningCount = positiveInt('tuning-seeds', values['tuning-seeds'], HELDOUT_PLAN.tuningSeeds.length);
  return {
    full,
    study,
    // Tuning seeds 100, 101, ...: disjoint from the evaluation seeds 0..7.
    tuningSeeds: Array.from({ length: tuningCount }, (_, k) => HELDOUT_PLAN.tuningSeeds[0]! + k),
    lrs,
    seeds: positiveInt('seeds', values.seeds, full || study ? 8 : 1),
    iters,
    evalEvery: study ? (values.iters === undefined ? HELDOUT_PLAN.evalEvery : Math.max(1, Math.round(iters / 5))) : Math.max(1, Math.round(iters / 6)),
    creditGroups: positiveInt('credit-groups', values['credit-groups'], full ? 43 : 4),
    arms,
    jobs: positiveInt('jobs', values.jobs, Math.max(1, Math.min(2, availableParallelism()))),
    out: resolve(values.out ?? (study ? HELDOUT_PLAN.out : join('dist', 'demo-output'))),
    backend: oneOf('backend', values.backend, ['wasm', 'cpu'] as const, 'wasm'),
    device: oneOf('device', values.device, ['auto', 'cpu', 'cuda'] as const, 'auto'),
    pretrain: values.pretrain!,
    calibrate: values.calibrate!,
  };
}

