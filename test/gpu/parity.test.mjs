// CUDA backend parity: against the float64 reference (dist/lib/reference.js) and against the CPU
// backend, on every output field, for every dtype, both layouts, D not a multiple of 8,
// misaligned device pointers and host subarrays, N = 1 and 96, T = 1 and 50, K = 1 and 5; and
// bit-identical reruns. Run with `node --test test/gpu/*.test.mjs` (node:test, not vitest).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convert, makeRewards, makeTrajectory, statesOf } from '../../bench/gpu/data.mjs';
import {
  DEV, FIELDS, Tensor, advantages, borrowAt, download, otca, ref, relDiff, release, releaseAll,
  skipWithoutCuda, upload,
} from './_api.mjs';

const TOL_REF = 1e-5; // float32 accumulation vs float64
const TOL_CPU = 1e-6; // two float32 backends

/** Host inputs of one case: latents in `dtype` (flat [N,T+1,D]) and float32 rewards. */
function hostCase({ N, G, T, D, K, dtype, seed }) {
  const z = convert(makeTrajectory(N, T, D, seed), dtype);
  const r = makeRewards(N, K, seed);
  return { N, G, T, D, K, dtype, z, r };
}

function referenceOf(c, layout) {
  const latents = layout === 'list'
    ? statesOf(c.z, c.N, c.T, c.D).map((s) => ({ data: s, shape: [c.N, c.D], dtype: c.dtype }))
    : { data: c.z, shape: [c.N, c.T + 1, c.D], dtype: c.dtype };
  return ref.referenceAdvantages({ rewards: { data: c.r, shape: [c.N, c.K] }, latents, groupSize: c.G });
}

/** Host tensors of a case in `layout`. */
function hostTensors(c, layout) {
  const latents = layout === 'list'
    ? statesOf(c.z, c.N, c.T, c.D).map((s) => Tensor.from(s, [c.N, c.D], c.dtype))
    : Tensor.from(c.z, [c.N, c.T + 1, c.D], c.dtype);
  return { rewards: Tensor.from(c.r, [c.N, c.K]), latents };
}

/** Device tensors of a case in `layout`; `misalign` puts every buffer one element in. */
function deviceTensors(c, layout, misalign = false) {
  const owned = [];
  const put = (host, shape, dtype) => {
    if (!misalign) {
      const t = upload(host, shape, dtype);
      owned.push(t);
      return t;
    }
    const padded = new host.constructor(host.length + 1);
    padded.set(host, 1);
    const base = upload(padded, [padded.length], dtype);
    owned.push(base);
    const view = borrowAt(base, 1, shape, dtype);
    if (!view) throw new Error('SKIP: no device-pointer accessor on Tensor for a misaligned view');
    owned.push(view);
    return view;
  };
  const latents = layout === 'list'
    ? statesOf(c.z, c.N, c.T, c.D).map((s) => put(s, [c.N, c.D], c.dtype))
    : put(c.z, [c.N, c.T + 1, c.D], c.dtype);
  const rewards = put(c.r, [c.N, c.K], 'float32');
  return { rewards, latents, free: () => owned.reverse().forEach(release) };
}

/**
 * max over samples of |q_i| / std_g(q) (Bessel): how much e = |q| / std_g(q) (eq. 12) magnifies a
 * relative change of q. The two backends' q differ in the last float32 bit (their float32 latent sums
 * run in different orders), so e can differ by that much times this; every other field is compared
 * at the plain tolerance, and phase 2 on identical q is compared bit for bit below.
 */
function explorationCondition(q, G) {
  let worst = 1;
  for (let b = 0; b < q.length; b += G) {
    const g = Array.from(q.subarray(b, b + G));
    const mean = g.reduce((s, x) => s + x, 0) / g.length;
    const std = g.length > 1 ? Math.sqrt(g.reduce((s, x) => s + (x - mean) ** 2, 0) / (g.length - 1)) : 0;
    for (const x of g) worst = Math.max(worst, std > 0 ? Math.abs(x) / std : 1);
  }
  return worst;
}

function compareAll(out, want, tol, what, G) {
  for (const f of FIELDS) {
    const got = download(out[f]);
    const e = relDiff(got, want[f]);
    const t = f === 'exploration' ? tol * explorationCondition(Float64Array.from(want.trajectoryScore), G) : tol;
    assert.ok(e <= t, `${what}: ${f} differs by ${e.toExponential(2)} (relative), tolerance ${t.toExponential(2)}`);
  }
}

function parity(t, spec, layout, { misalign = false } = {}) {
  if (skipWithoutCuda(t)) return;
  const c = hostCase(spec);
  const want = referenceOf(c, layout);
  const host = hostTensors(c, layout);
  const cpu = advantages(host.rewards, host.latents, c.G, { device: 'cpu', outputs: 'all' });
  const cpuArrays = Object.fromEntries(FIELDS.map((f) => [f, download(cpu[f])]));
  let dev;
  try {
    dev = deviceTensors(c, layout, misalign);
  } catch (e) {
    if (String(e.message).startsWith('SKIP:')) return t.skip(e.message.slice(6));
    throw e;
  }
  try {
    const out = advantages(dev.rewards, dev.latents, c.G, { device: DEV, outputs: 'all' });
    assert.equal(out.backend, DEV);
    compareAll(out, want, TOL_REF, 'cuda vs reference', c.G);
    compareAll(out, cpuArrays, TOL_CPU, 'cuda vs cpu', c.G);
    releaseAll(out);
  } finally {
    dev.free();
  }
}

const base = { N: 12, G: 4, T: 5, D: 1003, K: 3 };
for (const dtype of ['float32', 'float16', 'bfloat16']) {
  for (const layout of ['tensor', 'list']) {
    test(`parity ${dtype} ${layout} N=12 T=5 D=1003 K=3`, (t) =>
      parity(t, { ...base, dtype, seed: 11 }, layout));
    test(`parity ${dtype} ${layout} misaligned device pointers (one element in)`, (t) =>
      parity(t, { ...base, dtype, seed: 12 }, layout, { misalign: true }));
  }
}

const shapes = [
  { name: 'N=1 G=1', N: 1, G: 1, T: 3, D: 100, K: 2, dtype: 'float32' },
  { name: 'N=96 G=12 K=5', N: 96, G: 12, T: 16, D: 520, K: 5, dtype: 'bfloat16' },
  { name: 'T=1', N: 8, G: 4, T: 1, D: 37, K: 3, dtype: 'float32' },
  { name: 'T=50', N: 4, G: 4, T: 50, D: 257, K: 3, dtype: 'float16' },
  { name: 'K=1', N: 6, G: 3, T: 4, D: 64, K: 1, dtype: 'float32' },
  { name: 'K=5 D=7', N: 10, G: 5, T: 6, D: 7, K: 5, dtype: 'bfloat16' },
  { name: 'FLUX-512-like D=65539', N: 12, G: 12, T: 16, D: 65_539, K: 3, dtype: 'bfloat16' },
];
for (const [n, s] of shapes.entries()) {
  for (const layout of ['tensor', 'list']) {
    if (s.D > 10_000 && layout === 'list') continue; // one big case is enough
    test(`parity ${s.name} ${s.dtype} ${layout}`, (t) => parity(t, { ...s, seed: 20 + n }, layout));
  }
}

test('host inputs over a subarray (one element in) with device cuda:0 equal the CPU backend', (t) => {
  if (skipWithoutCuda(t)) return;
  for (const dtype of ['float32', 'bfloat16', 'float16']) {
    const c = hostCase({ ...base, dtype, seed: 40 });
    const padded = new c.z.constructor(c.z.length + 1);
    padded.set(c.z, 1);
    const sub = padded.subarray(1);
    const lat = Tensor.from(sub, [c.N, c.T + 1, c.D], dtype);
    const rew = Tensor.from(c.r, [c.N, c.K]);
    const cpu = advantages(rew, lat, c.G, { device: 'cpu', outputs: 'all' });
    const out = advantages(rew, lat, c.G, { device: DEV, outputs: 'all' });
    compareAll(out, Object.fromEntries(FIELDS.map((f) => [f, download(cpu[f])])), TOL_CPU, `${dtype} host subarray`, c.G);
    releaseAll(out);
  }
});

test('phase 2 on the same q: CPU and CUDA are bit-identical (one otca_math.h, no contraction)', (t) => {
  if (skipWithoutCuda(t)) return;
  const modes = [{}, { objective: 'min-norm' }, { objective: 'weighted-advantage', objectiveWeights: [0.5, 1, 2] },
    { objective: 'weighted-reward', stdScope: 'batch' }, { explorationSignal: 'centered', stdCorrection: 0 },
    { fusedNormalization: 'batch' }, { fusedNormalization: 'group', stdStabilizer: 'floor', epsAdv: 1e-3, fusedClip: 1.5 },
    { objective: 'weighted-advantage', fusedNormalization: 'batch', stdStabilizer: 'floor', epsAdv: 1e-6, advClip: Infinity, fusedClip: 2 }];
  for (const [m, opts] of modes.entries()) {
    const c = hostCase({ N: 24, G: 6, T: 4, D: 64, K: 3, dtype: 'float32', seed: 60 + m });
    const q = new Float32Array(c.N).map((_, i) => 0.01 * Math.sin(1.7 * i + m) + 0.002 * (i % 3));
    const inputs = { rewards: Tensor.from(c.r, [c.N, c.K]), trajectoryScore: Tensor.from(q, [c.N]), groupSize: c.G };
    const cpu = otca.objectiveCredit(inputs, { ...opts, device: 'cpu' });
    const dev = otca.objectiveCredit(inputs, { ...opts, device: DEV });
    for (const f of ['objectiveAdvantages', 'exploration', 'lambda', 'coefficients', 'fused']) {
      const a = download(cpu[f]);
      const b = download(dev[f]);
      assert.deepEqual(new Uint32Array(b.buffer, b.byteOffset, b.length), new Uint32Array(a.buffer, a.byteOffset, a.length),
        `mode ${JSON.stringify(opts)}: ${f} differs between cpu and ${DEV}`);
    }
    releaseAll(dev);
  }
});

test('fused normalisation, the floor stabiliser and the fused clip: device equals the CPU backend, groupIds, sync and async', async (t) => {
  if (skipWithoutCuda(t)) return;
  const modes = [{ fusedNormalization: 'batch' }, { fusedNormalization: 'group', stdStabilizer: 'floor', epsAdv: 1e-3, fusedClip: 0.75 },
    { objective: 'weighted-advantage', fusedNormalization: 'batch', stdStabilizer: 'floor', epsAdv: 1e-6, fusedClip: 1.5 }];
  for (const [m, opts] of modes.entries()) {
    const c = hostCase({ N: 13, G: 13, T: 5, D: 200, K: 3, dtype: 'float32', seed: 70 + m });
    // scattered groups of unequal sizes (a singleton among them)
    const groupIds = Int32Array.from([3, 0, 1, 3, 2, 0, 3, 1, 2, 0, 3, 5, 1]);
    const host = hostTensors(c, 'tensor');
    const inputs = { ...host, groupIds };
    const cpu = otca.otcaAdvantages(inputs, { ...opts, device: 'cpu', outputs: 'all' });
    const dev = otca.otcaAdvantages(inputs, { ...opts, device: DEV, outputs: 'all' });
    const devAsync = await otca.otcaAdvantagesAsync(inputs, { ...opts, device: DEV, outputs: 'all' });
    const want = Object.fromEntries(FIELDS.map((f) => [f, download(cpu[f])]));
    compareAll(dev, want, 10 * TOL_CPU, `mode ${JSON.stringify(opts)}`, 13); // f divided by its std: 10x room
    for (const f of FIELDS) {
      const a = download(dev[f]);
      const b = download(devAsync[f]);
      assert.deepEqual(new Uint32Array(b.buffer, b.byteOffset, b.length), new Uint32Array(a.buffer, a.byteOffset, a.length),
        `mode ${JSON.stringify(opts)}: async ${f} differs from the synchronous call`);
    }
    // the reference on the device's own q: every objective field, the final f included
    const q = download(dev.trajectoryScore);
    const r2 = ref.referenceObjectiveCredit({ rewards: { data: c.r, shape: [c.N, c.K] }, trajectoryScore: q, groupIds }, opts);
    assert.ok(relDiff(download(dev.fused), r2.fused) <= 1e-6, `mode ${JSON.stringify(opts)}: fused vs the reference`);
    releaseAll(dev);
    releaseAll(devAsync);
  }
});

test('per-step rewards [N, T, K]: device equals the CPU backend, groupIds, sync and async, the two phases', async (t) => {
  if (skipWithoutCuda(t)) return;
  const modes = [{}, { objective: 'weighted-advantage', fusedNormalization: 'batch', fusedClip: 1.5 }, { preset: 'g2rpo' },
    { objective: 'weighted-reward', stdScope: 'batch', fusedNormalization: 'group' }];
  for (const [m, opts] of modes.entries()) {
    const c = hostCase({ N: 13, G: 13, T: 4, D: 150, K: 3, dtype: 'float32', seed: 80 + m });
    const groupIds = Int32Array.from([3, 0, 1, 3, 2, 0, 3, 1, 2, 0, 3, 5, 1]);
    const r = Float32Array.from({ length: c.N * c.T * c.K }, (_, x) => Math.sin(1.3 * x + m) + 0.1 * (x % 7));
    const latents = Tensor.from(c.z, [c.N, c.T + 1, c.D], c.dtype);
    const rewards = Tensor.from(r, [c.N, c.T, c.K]);
    const devRewards = upload(r, [c.N, c.T, c.K], 'float32');
    const inputs = { rewards, latents, groupIds };
    const cpu = otca.otcaAdvantages(inputs, { ...opts, device: 'cpu', outputs: 'all' });
    const dev = otca.otcaAdvantages({ ...inputs, rewards: devRewards }, { ...opts, device: DEV, outputs: 'all' });
    const devAsync = await otca.otcaAdvantagesAsync(inputs, { ...opts, device: DEV, outputs: 'all' });
    const want = Object.fromEntries(FIELDS.map((f) => [f, download(cpu[f])]));
    compareAll(dev, want, 10 * TOL_CPU, `per-step ${JSON.stringify(opts)}`, 13);
    assert.deepEqual(dev.fused.shape, [c.N, c.T]);
    for (const f of FIELDS) {
      const a = download(dev[f]);
      const b = download(devAsync[f]);
      assert.deepEqual(new Uint32Array(b.buffer, b.byteOffset, b.length), new Uint32Array(a.buffer, a.byteOffset, a.length),
        `per-step ${JSON.stringify(opts)}: async ${f} differs from the synchronous call`);
    }
    // the two phases on the device compose to the one call
    const p1 = otca.trajectoryCredit({ latents }, { ...opts, device: DEV, outputDevice: 'cpu' });
    const p2 = otca.objectiveCredit({ rewards, trajectoryScore: p1.trajectoryScore, groupIds }, { ...opts, device: DEV, outputDevice: 'cpu' });
    const adv = otca.combineCredit(p1, p2);
    const one = download(dev.advantages);
    assert.deepEqual(new Uint32Array(adv.data.buffer), new Uint32Array(one.buffer, one.byteOffset, one.length), `per-step ${JSON.stringify(opts)}: phases`);
    releaseAll(dev);
    releaseAll(devAsync);
    release(devRewards);
  }
});

test('reruns are bit-identical', (t) => {
  if (skipWithoutCuda(t)) return;
  const c = hostCase({ N: 12, G: 12, T: 16, D: 65_539, K: 3, dtype: 'bfloat16', seed: 50 });
  const dev = deviceTensors(c, 'tensor');
  try {
    const runs = [];
    for (let k = 0; k < 3; k++) {
      const out = advantages(dev.rewards, dev.latents, c.G, { device: DEV, outputs: 'all' });
      runs.push(Object.fromEntries(FIELDS.map((f) => [f, Float32Array.from(download(out[f]))])));
      releaseAll(out);
    }
    for (const f of FIELDS) {
      const a = new Uint32Array(runs[0][f].buffer);
      for (const r of runs.slice(1)) assert.deepEqual(new Uint32Array(r[f].buffer), a, `${f} changed between runs`);
    }
  } finally {
    dev.free();
  }
});
