/**
 * @internal The raw contract of the native addon (csrc/addon), declared in one place, and its loader.
 * Everything else in lib/ goes through {@link native}; public classes never touch the addon.
 * @packageDocumentation
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { OutputName } from './options.js';

/** Latents as the addon takes them. `states`: one [N, T+1, D] array (`stacked`) or T+1 [N, D] arrays. */
export interface NativeLatents {
  /** otca::DType: 0 float32 (Float32Array), 2 float16, 3 bfloat16 (Uint16Array). */
  dtype: number;
  N: number;
  T: number;
  D: number;
  stacked: boolean;
  states: (Float32Array | Uint16Array)[];
}

/** Rewards [N, K], row-major. dtype 0 float32 (Float32Array) or 1 float64 (Float64Array). */
export interface NativeRewards {
  dtype: number;
  N: number;
  K: number;
  data: Float32Array | Float64Array;
}

/** Options as the core's enum codes and numbers (csrc/core/otca.h `Options`). */
export interface NativeOptions {
  temporal: number;
  weightScale: number;
  objective: number;
  stdScope: number;
  explorationSignal: number;
  minWeight: number;
  stdCorrection: number;
  advClip: number;
  epsAdv: number;
  epsTcd: number;
  epsMoca: number;
  epsSolver: number;
  threads: number;
  objectiveWeights?: Float64Array;
  objectiveScale?: Float64Array;
}

/** Caller-allocated float32 outputs; absent fields are not computed. Lengths are checked natively. */
export type NativeOutputs = Partial<Record<OutputName, Float32Array>>;

/** One call of the core. `device` -1 is the CPU backend; N >= 0 is cuda:N (the CUDA step). */
export interface NativeJob {
  device: number;
  latents?: NativeLatents;
  rewards?: NativeRewards;
  trajectoryScore?: Float32Array;
  groupSize?: number;
  options: NativeOptions;
  outputs: NativeOutputs;
}

/** `otca::gpu::Status` plus device properties. */
export interface NativeCudaStatus {
  compiled: boolean;
  usable: boolean;
  deviceCount: number;
  driverVersion: number;
  runtimeVersion: number;
  reason: string;
  architectures: string;
  devices: {
    name?: string;
    computeCapability?: string;
    multiprocessors?: number;
    totalMemory?: number;
    l2Bytes?: number;
    error?: string;
  }[];
}

export interface NativeBackendInfo {
  cpu: { threads: number };
  cuda: NativeCudaStatus;
}

/** Every export of otca.node. Sync calls throw TypeError/RangeError/Error; async ones reject. */
export interface NativeAddon {
  computeAdvantages(job: NativeJob): void;
  computeAdvantagesAsync(job: NativeJob): Promise<void>;
  trajectoryCredit(job: NativeJob): void;
  trajectoryCreditAsync(job: NativeJob): Promise<void>;
  objectiveCredit(job: NativeJob): void;
  objectiveCreditAsync(job: NativeJob): Promise<void>;
  backendInfo(): NativeBackendInfo;
  /** The benchmark's read-bandwidth probe over `data`'s bytes; returns the fold. threads 0 = all. */
  readProbe(data: ArrayBufferView, threads?: number): bigint;
}

interface NodeGypBuild {
  (dir: string): unknown;
  resolve(dir: string): string;
}

const requireHere = createRequire(import.meta.url);

let packageRootCache: string | undefined;

/** The directory of the package.json named "otca", walking up from this module. */
export function packageRoot(): string {
  if (packageRootCache !== undefined) return packageRootCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'otca') {
          packageRootCache = dir;
          return dir;
        }
      } catch {
        // not ours (or unreadable): keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`otca: cannot find its package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** The package version from package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

let addon: NativeAddon | undefined;
let binaryPath: string | undefined;

/** The loaded addon (loaded on first use). Throws an error listing what was tried and what to do. */
export function native(): NativeAddon {
  if (addon !== undefined) return addon;
  const root = packageRoot();
  const load = requireHere('node-gyp-build') as NodeGypBuild;
  let path: string;
  try {
    path = load.resolve(root);
  } catch (cause) {
    throw new Error(
      [
        `otca: no native binary for ${process.platform}-${process.arch} (Node ${process.versions.node}, N-API ${process.versions.napi}).`,
        `Tried ${join(root, 'build', 'Release')}, ${join(root, 'build', 'Debug')} and ${join(root, 'prebuilds')}.`,
        'Possible solutions:',
        '- build from source in the package folder: `npm run build:native` (cmake-js) or `npx node-gyp rebuild` (CPU-only)',
        '- reinstall the package so that its prebuilt binary is present',
      ].join('\n'),
      { cause },
    );
  }
  try {
    addon = requireHere(path) as NativeAddon;
  } catch (cause) {
    throw new Error(
      [
        `otca: the native binary ${path} failed to load: ${(cause as Error).message}`,
        'Possible solutions:',
        '- rebuild it from source: `npm run build:native` (or `npx node-gyp rebuild`, CPU-only)',
        '- check that the C++ runtime it needs (libstdc++/glibc) is present on this system',
      ].join('\n'),
      { cause },
    );
  }
  binaryPath = path;
  return addon;
}

/** The path of the loaded .node file (loads it if needed). */
export function nativeBinaryPath(): string {
  native();
  return binaryPath as string;
}

/**
 * The benchmark's read-bandwidth probe (otca::cpu::read_probe): reads every byte of `data` with
 * `threads` threads (0 = all cores) and returns a fold of them, so the time is the read time.
 */
export function readProbe(data: ArrayBufferView, threads = 0): bigint {
  return native().readProbe(data, threads);
}
