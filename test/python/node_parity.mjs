#!/usr/bin/env node
// The Node package's results for cases the Python tests write, for the bit-for-bit parity test
// (test/python/test_parity.py): `node test/python/node_parity.mjs IN.json OUT.json`, on the built
// dist/ of this checkout, on the CPU backend.
//
// IN.json: a list of cases { kind: 'advantages' | 'trajectory' | 'objective', options (TypeScript
// names), rewards?: { dtype, shape, data }, latents?: { dtype, shape, data } or a list of them,
// trajectoryScore?: { dtype, shape, data }, groupSize?, groupIds? }, each array's data the base64 of
// its little-endian bytes (16-bit latents as their bits). OUT.json: per case, every output the call
// returns as { shape, data } (float32 base64), or { error: { name, message } }.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const otca = await import(pathToFileURL(join(root, 'dist', 'lib', 'index.js')).href);

const ARRAYS = { float32: Float32Array, float64: Float64Array, float16: Uint16Array, bfloat16: Uint16Array };

function tensor(spec) {
  const bytes = Buffer.from(spec.data, 'base64');
  const Ctor = ARRAYS[spec.dtype];
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return otca.Tensor.from(new Ctor(copy.buffer), spec.shape, spec.dtype);
}

function encode(t) {
  const data = t.data;
  return { shape: [...t.shape], data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

function run(c) {
  // JSON has no Infinity: the tests write it as the string 'Infinity'
  const options = Object.fromEntries(Object.entries(c.options).map(([k, v]) => [k, v === 'Infinity' ? Infinity : v]));
  options.device = 'cpu';
  const groups = c.groupIds !== undefined ? { groupIds: Int32Array.from(c.groupIds) } : { groupSize: c.groupSize };
  const latents = c.latents === undefined ? undefined : Array.isArray(c.latents) ? c.latents.map(tensor) : tensor(c.latents);
  if (c.kind === 'trajectory') return otca.trajectoryCredit({ latents }, options);
  if (c.kind === 'objective') {
    return otca.objectiveCredit({ rewards: tensor(c.rewards), trajectoryScore: tensor(c.trajectoryScore), ...groups }, options);
  }
  return otca.otcaAdvantages({ rewards: tensor(c.rewards), latents, ...groups }, { ...options, outputs: 'all' });
}

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const results = cases.map((c) => {
  try {
    const r = run(c);
    const out = {};
    for (const [name, value] of Object.entries(r)) if (value instanceof otca.Tensor) out[name] = encode(value);
    return out;
  } catch (e) {
    return { error: { name: e.name, message: e.message } };
  }
});
writeFileSync(process.argv[3], JSON.stringify(results));
