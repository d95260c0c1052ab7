/**
 * The demo's command line: its flags, parsed with node:util's parseArgs, and its usage text.
 */
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ARM_NAMES, type ArmName } from './advantages.js';
import { TRAIN_DEFAULTS } from './trainer.js';

export const USAGE = `Usage: npm run demo -- [flags]

GRPO post-training of a toy rectified-flow image model with otca's per-step advantages: six arms
(Flow-GRPO, DanceGRPO, TCD, TCD with a fixed profile, MOCA, OTCA), the credit diagnostics with their
null and residual, and a report (RESULTS.md, curves.svg, samples.svg/.png, results.json).

  --full               the pre-registered study: 8 seeds x 6 arms x 120 iterations, 516 diagnostic
                       trajectories (about 11 minutes on 2 cores); default: a short run, 1 seed x
                       6 arms x 40 iterations, 48 trajectories (under a minute)
  --seeds N            number of seeds (each has its own training noise and held-out set)
  --iters N            GRPO iterations per run
  --arms a,b,...       arms to run, from: ${ARM_NAMES.join(', ')}
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
  const arms = (values.arms?.split(',') ?? ARM_NAMES).map((a) => oneOf('arms', a.trim(), ARM_NAMES, 'otca'));
  const iters = positiveInt('iters', values.iters, full ? 120 : 40);
  return {
    full,
    seeds: positiveInt('seeds', values.seeds, full ? 8 : 1),
    iters,
    evalEvery: Math.max(1, Math.round(iters / 6)),
    creditGroups: positiveInt('credit-groups', values['credit-groups'], full ? 43 : 4),
    arms,
    jobs: positiveInt('jobs', values.jobs, Math.max(1, Math.min(2, availableParallelism()))),
    out: resolve(values.out ?? join('dist', 'demo-output')),
    backend: oneOf('backend', values.backend, ['wasm', 'cpu'] as const, 'wasm'),
    device: oneOf('device', values.device, ['auto', 'cpu', 'cuda'] as const, 'auto'),
    pretrain: values.pretrain!,
    calibrate: values.calibrate!,
  };
}

