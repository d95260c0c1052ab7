/**
 * @internal The raw contract of the native addon (csrc/addon), declared in one place, and its loader.
 * Everything else in lib/ goes through {@link native}; public classes never touch the addon.
 * @packageDocumentation
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { CudaDeviceInfo } from './api.js';
import { BUNDLER_ADVICE } from './bundled.js';
import type { OutputName } from './options.js';

declare const deviceBufferBrand: unique symbol;

/**
 * An opaque device buffer: a type-tagged External over a range of device memory (owned, shared by
 * the views of one allocation, freed when the last view is released or collected; or borrowed,
 * never freed). Only the addon makes them; a forged object is rejected natively.
 */
export interface NativeDeviceBuffer {
  readonly [deviceBufferBrand]: true;
}

/** Host bytes (a TypedArray) or a device buffer on the call's device. */
export type NativeBuffer<A extends ArrayBufferView> = A | NativeDeviceBuffer;

/** Latents as validated (validate.ts): one [N, T+1, D] buffer (`stacked`) or T+1 [N, D] buffers. */
export interface NativeLatents {
  /** otca::DType: 0 float32 (Float32Array), 2 float16, 3 bfloat16 (Uint16Array). */
  dtype: number;
  N: number;
  T: number;
  D: number;
  stacked: boolean;
  states: NativeBuffer<Float32Array | Uint16Array>[];
  /** The Tensors they came from (their devices choose the backend; async runs hold them). */
  tensors: readonly unknown[];
}

/** Rewards [N, K], row-major. dtype 0 float32 (Float32Array) or 1 float64 (Float64Array). */
export interface NativeRewards {
  dtype: number;
  N: number;
  K: number;
  /** Per-step rewards [N, T, K]: T; 0 for rewards [N, K]. */
  T: number;
  data: NativeBuffer<Float32Array | Float64Array>;
  tensor: unknown;
}

/**
 * A plan's options as the addon parses them once (csrc/addon/plan.cc): every option of
 * OPTION_SCHEMA marked `native`, enumerations by name (csrc/core/options.h's tables).
 */
export interface NativePlanOptions {
  temporal: string;
  weightScale: string;
  objective: string;
  stdScope: string;
  explorationSignal: string;
  stdCorrection: number;
  minWeight: number;
  advClip: number;
  epsAdv: number;
  epsTcd: number;
  epsMoca: number;
  epsSolver: number;
  threads: number;
  fusedNormalization: string;
  stdStabilizer: string;
  fusedClip: number;
  objectiveWeights: Float64Array | undefined;
  objectiveScale: Float64Array | undefined;
}

/** The slots of {@link NativeRun.header} (csrc/addon/job.h `HeaderSlot`; checked when the addon loads). */
export const RUN_HEADER = Object.freeze({
  /** {@link RUN_KIND}. */
  kind: 0,
  /** 1: run on the libuv pool and return a promise. */
  async: 1,
  latentDtype: 2,
  N: 3,
  T: 4,
  D: 5,
  stacked: 6,
  rewardDtype: 7,
  rewardN: 8,
  K: 9,
  /** 0 where groupIds are given. */
  groupSize: 10,
  /** Bit k: output k of {@link OUTPUT_SLOTS} is in `outputs[k]`. */
  outputMask: 11,
  /** Per-step rewards [N, T, K]: T; 0 for rewards [N, K]. */
  rewardSteps: 12,
  length: 13,
} as const);

/** The index of each output in {@link NativeRun.outputs} (csrc/addon/job.h `OutputIndex`; checked when the addon loads). */
export const OUTPUT_SLOTS: Readonly<Record<OutputName, number>> = Object.freeze({
  similarity: 0,
  deltaS: 1,
  rawWeights: 2,
  stepWeights: 3,
  trajectoryScore: 4,
  objectiveAdvantages: 5,
  exploration: 6,
  lambda: 7,
  coefficients: 8,
  fused: 9,
  advantages: 10,
});

/** The number of output slots. */
export const OUTPUT_COUNT = 11;

/** The kinds of a run. */
export const RUN_KIND = Object.freeze({ advantages: 0, trajectory: 1, objective: 2 } as const);

/**
 * One run of a plan: only buffers and shapes (the options are the plan's). Passed to the addon as
 * positional arguments (no property lookups); absent inputs are `undefined`.
 */
export interface NativeRun {
  header: Float64Array;
  /** The latents' buffers: one [N, T+1, D] (header.stacked 1) or T+1 [N, D]. */
  states: NativeBuffer<Float32Array | Uint16Array>[] | undefined;
  rewards: NativeBuffer<Float32Array | Float64Array> | undefined;
  trajectoryScore: NativeBuffer<Float32Array> | undefined;
  groupIds: Int32Array | undefined;
  /** Indexed by {@link OUTPUT_SLOTS}, every slot present; the header's outputMask says which are set. */
  outputs: (NativeBuffer<Float32Array> | undefined)[];
}

/**
 * A plan's native half (csrc/addon/plan.cc): the options parsed once and the native state its runs
 * reuse (CPU workspaces, or CUDA contexts) on one backend: device -1 is the CPU, N >= 0 cuda:N.
 */
export interface NativePlan {
  /** `run(...the fields of a NativeRun in its order)`, kind and async in the header; see {@link runPlan}. */
  run(
    header: Float64Array,
    states: NativeRun['states'],
    rewards: NativeRun['rewards'],
    trajectoryScore: NativeRun['trajectoryScore'],
    groupIds: NativeRun['groupIds'],
    outputs: NativeRun['outputs'],
  ): void | Promise<void>;
  /** Releases the native state (runs in flight keep what they use until they end). Idempotent. */
  dispose(): void;
}

/** Runs `run` on `plan`: synchronously (undefined), or on the libuv pool (a promise). */
export function runPlan(plan: NativePlan, kind: number, run: NativeRun, async: false): void;
export function runPlan(plan: NativePlan, kind: number, run: NativeRun, async: true): Promise<void>;
export function runPlan(plan: NativePlan, kind: number, run: NativeRun, async: boolean): void | Promise<void> {
  run.header[RUN_HEADER.kind] = kind;
  run.header[RUN_HEADER.async] = async ? 1 : 0;
  return plan.run(run.header, run.states, run.rewards, run.trajectoryScore, run.groupIds, run.outputs);
}

/** What the addon reports of its own tables, compared with this file's and the schema's when it loads. */
export interface NativeContract {
  header: string[];
  outputs: string[];
  enums: Record<string, string[]>;
  defaults: Record<string, string | number>;
}

/** One CUDA device as the runtime reports it (`otca::gpu::DeviceProps`): the public {@link CudaDeviceInfo} without `device`. */
export type NativeCudaDevice = Omit<CudaDeviceInfo, 'device'>;

/** `otca::gpu::Status` plus device properties. */
export interface NativeCudaStatus {
  compiled: boolean;
  usable: boolean;
  deviceCount: number;
  driverVersion: number;
  runtimeVersion: number;
  reason: string;
  architectures: string;
  /** Listed where usable. */
  devices: NativeCudaDevice[];
}

export interface NativeBackendInfo {
  cpu: { threads: number };
  cuda: NativeCudaStatus;
}

/** Every export of otca.node. Sync calls throw TypeError/RangeError/Error; async ones reject. */
export interface NativeAddon {
  NativePlan: new (device: number, options: NativePlanOptions) => NativePlan;
  contract(): NativeContract;
  backendInfo(): NativeBackendInfo;
  /** The benchmark's read-bandwidth probe over `data`'s bytes; returns the fold. threads 0 = all. */
  readProbe(data: ArrayBufferView, threads?: number): bigint;
  /** One allocation on cuda:`device`, one buffer per byte length (each 256-byte aligned). */
  deviceAlloc(device: number, byteLengths: number[]): NativeDeviceBuffer[];
  /** A buffer over memory someone else owns (never freed by otca). */
  deviceBorrow(device: number, pointer: bigint, byteLength: number): NativeDeviceBuffer;
  /** Drops the buffer's share of its allocation (freed with the last one). Idempotent. */
  deviceRelease(buffer: NativeDeviceBuffer): void;
  /** The device address of a live buffer. */
  devicePointer(buffer: NativeDeviceBuffer): bigint;
  /** Copies src to dst (equal byte lengths; host<->device or device->device). Blocks. */
  deviceCopy(dst: NativeBuffer<ArrayBufferView>, src: NativeBuffer<ArrayBufferView>): void;
  /** {@link NativeAddon.deviceCopy} on the libuv pool; both sides held until done. */
  deviceCopyAsync(dst: NativeBuffer<ArrayBufferView>, src: NativeBuffer<ArrayBufferView>): Promise<void>;
}

interface NodeGypBuild {
  (dir: string): unknown;
  resolve(dir: string): string;
}

/**
 * The path of this compiled module, in both published builds of this one source: `__filename` in
 * the CommonJS build (dist/cjs); in ESM (dist/esm, dist/lib), where `import.meta` cannot appear (it
 * is a syntax error in the CommonJS output), the file name V8 records for this function's own stack
 * frame (the `bindings` package's technique; a file:// URL in ESM).
 */
function thisModuleFile(): string {
  if (typeof __filename === 'string' && isAbsolute(__filename)) return __filename;
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  let file: string | null | undefined;
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_error, sites) => sites;
    file = (new Error().stack as unknown as NodeJS.CallSite[] | undefined)?.[0]?.getFileName();
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
  if (!file) throw new Error(`otca: cannot tell which file its loader was loaded from. ${BUNDLER_ADVICE}`);
  return file.startsWith('file:') ? fileURLToPath(file) : file;
}

let requireCache: NodeJS.Require | undefined;

/** A `require` rooted at this module (node-gyp-build and the .node file), in ESM and CommonJS alike. */
function requireHere(id: string): unknown {
  requireCache ??= createRequire(thisModuleFile());
  return requireCache(id);
}

let packageRootCache: string | undefined;

/** The directory of the package.json named "otca", walking up from this module. */
export function packageRoot(): string {
  if (packageRootCache !== undefined) return packageRootCache;
  const start = thisModuleFile();
  let dir = dirname(start);
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
    if (parent === dir) throw new Error(`otca: cannot find its package.json above ${start}. ${BUNDLER_ADVICE}`);
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
  let path: string | undefined;
  try {
    path = preferCudaPrebuild(root, load.resolve(root));
    addon = requireHere(path) as NativeAddon;
  } catch (cause) {
    throw new Error(loadFailure(root, path, cause as Error), { cause });
  }
  binaryPath = path;
  checkContract(addon.contract(), path);
  return addon;
}

/** Whether the binary at `file` has the CUDA backend (its CUDA fat binary or runtime entry points). */
function hasCuda(file: string): boolean {
  try {
    const bytes = readFileSync(file);
    return bytes.includes('.nv_fatbin') || bytes.includes('cudaGetDeviceCount');
  } catch {
    return false;
  }
}

/**
 * The binary to load, given node-gyp-build's choice `path` (a local build in build/Release or
 * build/Debug comes before the prebuild). A CPU-only local build (a from-source build without CUDA)
 * never shadows a prebuild that has CUDA and loads here: the prebuild is loaded instead, with a
 * warning (code OTCA_LOCAL_BUILD_SKIPPED) naming both. Where the prebuild does not load (the
 * reason for building from source) the local build is used, quietly. Not in a git checkout (its
 * build/Release is the developer's fresh build), nor where $OTCA_PREBUILD names the folder.
 */
function preferCudaPrebuild(root: string, path: string): string {
  const localDir = join(root, 'build');
  if (process.env.OTCA_PREBUILD || !path.startsWith(localDir) || existsSync(join(root, 'lib', 'native.ts'))) return path;
  const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let prebuild: string | undefined;
  try {
    const files = readdirSync(prebuildDir).filter((f) => f.endsWith('.node'));
    prebuild = files.includes('otca.node') ? 'otca.node' : files[0];
  } catch {
    return path;
  }
  if (prebuild === undefined) return path;
  prebuild = join(prebuildDir, prebuild);
  if (hasCuda(path) || !hasCuda(prebuild)) return path;
  try {
    requireHere(prebuild);
  } catch {
    return path;
  }
  process.emitWarning(
    `${path} is a CPU-only build and the prebuilt ${prebuild} has CUDA: loading the prebuild (the same CPU ` +
      `backend, plus CUDA). Remove ${localDir} to load the prebuild without this warning, or set ` +
      `OTCA_PREBUILD=${root} to load the local build.`,
    { code: 'OTCA_LOCAL_BUILD_SKIPPED' },
  );
  return prebuild;
}

/**
 * The addon's tables against this file's: the run header's slots and the output slots, by name and
 * position. A binary from another version of otca (a stale build/Release) fails here, clearly,
 * instead of reading the wrong slots.
 */
function checkContract(c: NativeContract, path: string): void {
  const header = Object.keys(RUN_HEADER).filter((k) => k !== 'length');
  const outputs = Object.entries(OUTPUT_SLOTS).sort((a, b) => a[1] - b[1]).map(([k]) => k);
  const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, k) => x === b[k]);
  if (!same(c.header, header) || !same(c.outputs, outputs)) {
    addon = undefined;
    throw new Error(
      `otca: the native binary ${path} does not match this version of the JavaScript (run header ${c.header.join(',')}, ` +
        `outputs ${c.outputs.join(',')}); rebuild it (npm run build) or reinstall otca`,
    );
  }
}

/**
 * The message of a binary that did not load (sharp style): platform and runtime seen, every place
 * node-gyp-build looked (in its order: $OTCA_PREBUILD, build/Release, build/Debug, prebuilds/<platform>-<arch>)
 * and what it found there, the cause where it is known (glibc or libstdc++ too old, wrong
 * architecture, not a Node-API module), then what to do.
 */
function loadFailure(root: string, path: string | undefined, cause: Error): string {
  const target = `${process.platform}-${process.arch}`;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const glibc = process.platform === 'linux' ? header?.glibcVersionRuntime : undefined;
  const libc = process.platform !== 'linux' ? '' : glibc ? `, glibc ${glibc}` : ', musl or no glibc';
  const listNode = (dir: string): string => {
    try {
      const files = readdirSync(dir).filter((f) => f.endsWith('.node'));
      return files.length > 0 ? files.join(', ') : 'no .node file';
    } catch {
      return 'absent';
    }
  };
  const base = process.env.OTCA_PREBUILD || root;
  const tried = [
    ...(process.env.OTCA_PREBUILD ? [`- $OTCA_PREBUILD = ${base} (used instead of the package folder)`] : []),
    `- ${join(base, 'build', 'Release')}: ${listNode(join(base, 'build', 'Release'))}`,
    `- ${join(base, 'build', 'Debug')}: ${listNode(join(base, 'build', 'Debug'))}`,
    `- ${join(base, 'prebuilds', target)}: ${listNode(join(base, 'prebuilds', target))}` +
      (target === 'linux-x64' ? '' : ' (otca ships a prebuilt binary for linux-x64 only)'),
  ];
  const lines = [
    path === undefined
      ? `otca: no native binary found for ${target} (Node ${process.versions.node}, N-API ${process.versions.napi}${libc}).`
      : `otca: the native binary ${path} could not be loaded on ${target} (Node ${process.versions.node}, N-API ${process.versions.napi}${libc}).`,
    'Tried:',
    ...tried,
  ];
  if (path !== undefined) lines.push(`Loading it failed with: ${cause.message.split('\n')[0]}`);
  const msg = cause.message;
  const needGlibc = /GLIBC_(\d+(?:\.\d+)+)'? not found/.exec(msg);
  const needCxx = /((?:GLIBCXX|CXXABI)_\d+(?:\.\d+)+)'? not found/.exec(msg);
  if (needGlibc) {
    lines.push(`Cause: the binary needs glibc >= ${needGlibc[1]} but this system has ${glibc ? `glibc ${glibc}` : 'an older or no glibc'}.`);
  } else if (needCxx) {
    lines.push(`Cause: the binary needs a newer libstdc++ (${needCxx[1]}) than this system has.`);
  } else if (/wrong ELF class|invalid ELF header|cannot open shared object|not a valid Win32|mach-o/i.test(msg)) {
    lines.push(`Cause: the file is not a binary for ${target} or a library it needs is missing.`);
  } else if (/self-register|napi_register_module/i.test(msg)) {
    lines.push('Cause: the file is not a Node-API module built for this Node.');
  }
  const checkout = existsSync(join(root, 'lib', 'native.ts'));
  const script = join(root, 'src', 'build-from-source.mjs');
  lines.push(
    'Possible solutions:',
    checkout
      ? '- From a git checkout: `npm run build` (cmake-js; CUDA when nvcc is found). See CONTRIBUTING.md.'
      : `- Build it from source: \`node ${script}\` (cmake and a C++17 compiler, with CUDA where nvcc is found; ` +
          'or, without cmake, python3 and make for a CPU-only build). See "Building from source" in the README.',
    `- Reinstall otca so that its prebuilt binary prebuilds/linux-x64/otca.node is present${target === 'linux-x64' ? ' (an install that pruned files or bundled the package loses it)' : ''}; ` +
      'it needs Linux x64 with glibc >= 2.34 and Node >= 20, and runs CPU-only where there is no NVIDIA GPU or driver.',
    '- To run CPU-only: any binary runs the CPU backend (`device: \'cpu\'`), a from-source build without CUDA included.',
  );
  return lines.join('\n');
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
