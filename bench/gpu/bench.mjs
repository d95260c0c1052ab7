// The GPU benchmark's Node side: times otcaAdvantages on device tensors (latents already on the GPU,
// as in a trainer) for the issue-4 workloads, the host overhead per call on a tiny input, and writes
// check cases (inputs + our outputs) for torch_reference.py --check.
//
//   node bench/gpu/bench.mjs --out DIR [--dry] [--only FLUX-512,Wan] [--no-check-cases]
//
// Writes DIR/bench.json and DIR/cases/ (case.json + raw files). With --dry (no usable CUDA device:
// the development machine) it runs the same code on the CPU backend with small sizes, so that the
// pipeline can be validated without device time. Plain ESM: imports only node builtins, dist/ and
// ./data.mjs (the device machine has no node_modules).
//
// Timing: the GPU calls block until their results are written (otca.h), so a host clock around
// each call is synchronised; median of many calls after warm-up. Where the latents fit in L2
// (50 MB on an H100), the calls rotate among several copies in distinct device buffers.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import os from 'node:os';
import { convert, elemSize, makeRewards, makeTrajectory, statesOf, writeCases } from './data.mjs';

const distIndex = process.env.OTCA_DIST_INDEX ?? new URL('../../dist/lib/index.js', import.meta.url).pathname;
const otca = await import(pathToFileURL(distIndex).href);
const { Tensor } = otca;

// ------------------------------------------------------------------ the API, in one place
// (the device-tensor API of issue 3; adjust here if it lands with other names)

/** { usable, reason, info } of the CUDA backend. */
function cudaStatus() {
  let info;
  try {
    info = otca.backendInfo();
  } catch (e) {
    return { usable: false, reason: `backendInfo() threw: ${String(e.message).split('\n')[0]}`, info: null };
  }
  const c = info?.backends?.cuda ?? info?.cuda ?? {};
  return { usable: Boolean(c.usable), reason: String(c.reason ?? 'no reason given'), info };
}

/** A tensor on `device` holding a copy of `host` (a view of it for 'cpu'). */
function upload(host, shape, dtype, device) {
  const t = Tensor.from(host, shape, dtype);
  return device === 'cpu' ? t : t.to(device);
}

/** Host TypedArray of any tensor. */
function download(t) {
  if (t.device === 'cpu') return t.data;
  const h = t.to('cpu');
  return h.data;
}

/** Frees a device tensor now (host tensors are left to the GC). */
function release(t) {
  if (t && typeof t === 'object' && t.device !== undefined && t.device !== 'cpu' && typeof t.dispose === 'function') {
    t.dispose();
  }
}

function releaseResult(out) {
  if (!out) return;  // the repeatable native call returns nothing
  for (const v of Object.values(out)) if (v instanceof Tensor) release(v);
}

/** The timed call. */
function advantages(set, groupSize, device, outputs) {
  return otca.otcaAdvantages(
    { rewards: set.rewards, latents: set.latents, groupSize },
    outputs ? { device, outputs } : { device },
  );
}

// ------------------------------------------------------------------ arguments

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, dflt) => {
  const k = args.indexOf(name);
  return k >= 0 && k + 1 < args.length ? args[k + 1] : dflt;
};
const outDir = value('--out', process.env.OUT ?? '/tmp/otca-bench');
const dry = flag('--dry');
const only = value('--only', '');
mkdirSync(outDir, { recursive: true });

const status = cudaStatus();
let device;
if (status.usable) device = 'cuda:0';
else if (dry) device = 'cpu';
else {
  console.error(`bench.mjs: no usable CUDA device (${status.reason}); use --dry to run on the CPU`);
  process.exit(2);
}
console.log(`bench.mjs on ${device}${dry ? ' (dry run)' : ''}; cuda: ${status.usable ? 'usable' : status.reason}`);

const K = 3;
const WORKLOADS = dry
  ? [
      { name: 'FLUX-512', N: 12, G: 12, T: 16, D: 4096 },
      { name: 'FLUX-1024', N: 12, G: 12, T: 16, D: 8192 },
      { name: 'Wan', N: 32, G: 32, T: 16, D: 3000 },
      { name: 'FLUX-512 x8 groups', N: 96, G: 12, T: 16, D: 1024 },
    ]
  : [
      { name: 'FLUX-512', N: 12, G: 12, T: 16, D: 65_536 },
      { name: 'FLUX-1024', N: 12, G: 12, T: 16, D: 262_144 },
      { name: 'Wan', N: 32, G: 32, T: 16, D: 349_440 },
      { name: 'FLUX-512 x8 groups', N: 96, G: 12, T: 16, D: 65_536 },
    ];
const DTYPES = ['bfloat16', 'float32'];
const LAYOUTS = ['tensor', 'list'];
const L2_ROTATE_BYTES = 200 << 20;
const TARGET_S = dry ? 0.05 : 0.3; // timed seconds per row

// ------------------------------------------------------------------ timing

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))];
}

/** Median microseconds of fn(sets[i % n]) with a host clock (the calls are synchronous). */
function timeCalls(fn, sets, { warmup = 10, minReps = 20, maxReps = 2000 } = {}) {
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < warmup; i++) releaseResult(fn(sets[i % sets.length]));
  const est = Number(process.hrtime.bigint() - t0) / 1e9 / warmup;
  const reps = Math.max(minReps, Math.min(maxReps, Math.ceil(TARGET_S / Math.max(est, 1e-7))));
  const ts = new Array(reps);
  for (let i = 0; i < reps; i++) {
    const set = sets[i % sets.length];
    t0 = process.hrtime.bigint();
    const out = fn(set);
    ts[i] = Number(process.hrtime.bigint() - t0) / 1e3;
    releaseResult(out);
  }
  return { median_us: median(ts), p10_us: quantile(ts, 0.1), p90_us: quantile(ts, 0.9), reps };
}

/** Device copies of one workload's inputs: `count` sets in distinct buffers. */
function uploadSets(hostLatents, hostStates, rewards, w, dtype, layout, count) {
  const sets = [];
  for (let s = 0; s < count; s++) {
    const latents = layout === 'tensor'
      ? upload(hostLatents, [w.N, w.T + 1, w.D], dtype, device)
      : hostStates.map((st) => upload(st, [w.N, w.D], dtype, device));
    sets.push({ rewards: upload(rewards, [w.N, K], 'float32', device), latents });
  }
  return sets;
}

function releaseSets(sets) {
  for (const s of sets) {
    release(s.rewards);
    if (Array.isArray(s.latents)) s.latents.forEach(release);
    else release(s.latents);
  }
}

// ------------------------------------------------------------------ host overhead (tiny input)
// The headline number (hostOverhead, report.py's target row) is the API call on the tiny case this
// file has always timed (N=2, G=2, T=1, D=8, K=3). The split (hostOverheadSplit) says where a call's
// time goes, on the same machine in the same run:
//   api    the one-shot call on device tensors (otcaAdvantages: its cached plan, validation,
//          output allocation, Tensor results)
//   plan   an AdvantageStep's run with its output tensor passed back in (createAdvantageStep; the
//          loop a trainer writes): inputs checked, nothing allocated
//   cpu    the one-shot call on host tensors with device 'cpu': the JS + N-API floor of this machine
// for that case and for the lab harness's tiny case (N=1, G=1, T=1, D=8, K=1), so that the
// harness's C++ number (otca_lab_harness "tiny call (product): host clock") compares like with like.
const TINY_CASES = [
  { label: 'bench tiny', N: 2, G: 2, T: 1, D: 8, K: 3 },
  { label: 'harness tiny', N: 1, G: 1, T: 1, D: 8, K: 1 },
];
const TINY_TIMING = { warmup: 200, minReps: 2000, maxReps: 20000 };

function tinyRows(w) {
  const z = makeTrajectory(w.N, w.T, w.D, 99);
  const r = makeRewards(w.N, w.K, 99);
  const on = (dv) => ({ latents: upload(z, [w.N, w.T + 1, w.D], 'float32', dv), rewards: upload(r, [w.N, w.K], 'float32', dv) });
  const host = on('cpu');
  const dev = on(device);
  const rows = [];
  try {
    const call = (set, dv) => otca.otcaAdvantages({ rewards: set.rewards, latents: set.latents, groupSize: w.G }, { device: dv });
    rows.push({ path: 'api', ...timeCalls(() => call(dev, device), [null], TINY_TIMING) });
    const step = otca.createAdvantageStep({ device });
    try {
      const inputs = { rewards: dev.rewards, latents: dev.latents, groupSize: w.G };
      const targets = { advantages: step.run(inputs).advantages };
      rows.push({ path: 'plan', ...timeCalls(() => step.run(inputs, targets), [null], TINY_TIMING) });
      release(targets.advantages);
    } finally {
      step.dispose();
    }
    rows.push({ path: 'cpu', ...timeCalls(() => call(host, 'cpu'), [null], TINY_TIMING) });
  } finally {
    release(dev.latents);
    release(dev.rewards);
  }
  return rows.map((row) => ({ case: w.label, N: w.N, G: w.G, T: w.T, D: w.D, K: w.K, ...row }));
}

function hostOverhead() {
  TINY_CASES.flatMap(tinyRows);  // once unrecorded: JIT and caches warm for every row alike
  const split = TINY_CASES.flatMap(tinyRows);
  const { N, G, T, D, K, median_us, p10_us, p90_us, reps } = split.find((row) => row.case === TINY_CASES[0].label && row.path === 'api');
  return { N, G, T, D, K, median_us, p10_us, p90_us, reps, split };
}

// ------------------------------------------------------------------ check cases for torch

const FIELDS = ['advantages', 'similarity', 'deltaS', 'rawWeights', 'stepWeights', 'trajectoryScore',
  'objectiveAdvantages', 'exploration', 'lambda', 'coefficients', 'fused'];

function checkCases() {
  const specs = dry
    ? [
        { name: 'flux512-f32-tensor', N: 12, G: 12, T: 16, D: 2048, dtype: 'float32', layout: 'tensor' },
        { name: 'flux512-bf16-list', N: 12, G: 12, T: 16, D: 2048, dtype: 'bfloat16', layout: 'list' },
        { name: 'groups8-bf16-tensor', N: 96, G: 12, T: 16, D: 259, dtype: 'bfloat16', layout: 'tensor' },
      ]
    : [
        { name: 'flux512-f32-tensor', N: 12, G: 12, T: 16, D: 65_536, dtype: 'float32', layout: 'tensor' },
        { name: 'flux512-bf16-list', N: 12, G: 12, T: 16, D: 65_536, dtype: 'bfloat16', layout: 'list' },
        { name: 'groups8-bf16-tensor', N: 96, G: 12, T: 16, D: 4099, dtype: 'bfloat16', layout: 'tensor' },
      ];
  const cases = [];
  for (const [n, c] of specs.entries()) {
    const z = convert(makeTrajectory(c.N, c.T, c.D, 1000 + n), c.dtype);
    const r = makeRewards(c.N, K, 1000 + n);
    const states = c.layout === 'list' ? statesOf(z, c.N, c.T, c.D) : null;
    const [set] = uploadSets(z, states, r, c, c.dtype, c.layout, 1);
    const out = advantages(set, c.G, device, 'all');
    const arrays = {};
    for (const f of FIELDS) arrays[`ours_${f}`] = Float32Array.from(download(out[f]));
    releaseResult(out);
    releaseSets([set]);
    cases.push({ ...c, K, latents: z, rewards: r, arrays });
  }
  const dir = join(outDir, 'cases');
  writeCases(dir, cases);
  return { dir, names: specs.map((s) => s.name) };
}

// ------------------------------------------------------------------ main

const result = {
  tool: 'bench.mjs',
  date: new Date().toISOString(),
  node: process.version,
  host: `${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}`,
  device,
  dry,
  backendInfo: status.info,
  rows: [],
};

// Each part records its own failure, so that one API mismatch does not lose the other numbers.
const errors = [];
function attempt(what, fn) {
  try {
    return fn();
  } catch (e) {
    const msg = `${what}: ${e?.name ?? 'Error'}: ${String(e?.message ?? e).split('\n')[0]}`;
    errors.push(msg);
    console.log(`FAILED ${msg}`);
    return undefined;
  }
}
result.errors = errors;

if (!flag('--no-check-cases')) {
  result.checkCases = attempt('check cases', checkCases);
  if (result.checkCases) {
    console.log(`check cases written to ${result.checkCases.dir}: ${result.checkCases.names.join(', ')}`);
  }
}

result.hostOverhead = attempt('host overhead', hostOverhead);
if (result.hostOverhead) {
  const h = result.hostOverhead;
  console.log(`host overhead per call (N=2, T=1, D=8, ${device}): median ${h.median_us.toFixed(2)} us ` +
    `(p10 ${h.p10_us.toFixed(2)}, p90 ${h.p90_us.toFixed(2)}, ${h.reps} calls)`);
  for (const row of h.split) {
    console.log(`  split ${row.case.padEnd(12)} (N=${row.N} G=${row.G} K=${row.K}) ${row.path.padEnd(6)} ` +
      `median ${row.median_us.toFixed(2)} us (p10 ${row.p10_us.toFixed(2)}, p90 ${row.p90_us.toFixed(2)}, ${row.reps} calls)`);
  }
}

for (const [wi, w] of WORKLOADS.entries()) {
  if (only && !only.split(',').includes(w.name)) continue;
  const z32 = makeTrajectory(w.N, w.T, w.D, 7 + wi);
  const r = makeRewards(w.N, K, 7 + wi);
  for (const dtype of DTYPES) {
    const z = convert(z32, dtype);
    const bytes = w.N * (w.T + 1) * w.D * elemSize(dtype);
    const sets = Math.max(1, Math.min(8, Math.ceil(L2_ROTATE_BYTES / bytes)));
    for (const layout of LAYOUTS) {
      const t = attempt(`${w.name} ${dtype} ${layout}`, () => {
        const states = layout === 'list' ? statesOf(z, w.N, w.T, w.D) : null;
        const devSets = uploadSets(z, states, r, w, dtype, layout, sets);
        try {
          return timeCalls((s) => advantages(s, w.G, device), devSets);
        } finally {
          releaseSets(devSets);
        }
      });
      if (!t) continue;
      const row = {
        workload: w.name, N: w.N, G: w.G, T: w.T, D: w.D, K, dtype, layout, bytes,
        bytes_total: bytes + w.N * K * 4 + w.N * w.T * 4, sets, ...t,
        GBps: bytes / (t.median_us * 1e-6) / 1e9,
      };
      result.rows.push(row);
      console.log(`ours ${w.name.padEnd(20)} ${dtype.padEnd(9)} ${layout.padEnd(6)} ${t.median_us.toFixed(1).padStart(9)} us ` +
        `(p10 ${t.p10_us.toFixed(1)}, p90 ${t.p90_us.toFixed(1)}, ${t.reps} calls, ${sets} sets) ${row.GBps.toFixed(0)} GB/s`);
    }
  }
}

writeFileSync(join(outDir, 'bench.json'), JSON.stringify(result, null, 1));
console.log(`wrote ${join(outDir, 'bench.json')}${errors.length ? ` (${errors.length} parts FAILED)` : ''}`);
process.exitCode = errors.length ? 1 : 0;
