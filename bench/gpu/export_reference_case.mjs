// Writes float64 reference cases (lib/reference.ts) for `torch_reference.py --selftest DIR`, which
// checks the numpy path of the PyTorch baseline's math against them (PyTorch cannot be installed
// on the development machine; the device runs the same lines with torch).
//
//   node bench/gpu/export_reference_case.mjs OUTDIR [path/to/reference.js]
//
// Default reference module: dist/lib/reference.js (npm run build:ts).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { convert, makeRewards, makeTrajectory, statesOf, writeCases } from './data.mjs';

const outDir = process.argv[2] ?? '/tmp/otca-refcases';
const refPath = resolve(process.argv[3] ?? new URL('../../dist/lib/reference.js', import.meta.url).pathname);
const { referenceAdvantages } = await import(pathToFileURL(refPath).href);

const FIELDS = ['advantages', 'similarity', 'deltaS', 'rawWeights', 'stepWeights', 'trajectoryScore',
  'objectiveAdvantages', 'exploration', 'lambda', 'coefficients', 'fused'];

function makeCase({ name, N, G, T, D, K, dtype, layout, seed, rewards, edit }) {
  const z32 = makeTrajectory(N, T, D, seed);
  if (edit) edit(z32);
  const lat = convert(z32, dtype);
  const r = rewards ?? makeRewards(N, K, seed);
  const refLat = layout === 'list'
    ? statesOf(lat, N, T, D).map((s) => ({ data: s, shape: [N, D], dtype }))
    : { data: lat, shape: [N, T + 1, D], dtype };
  const ref = referenceAdvantages({ rewards: { data: r, shape: [N, K] }, latents: refLat, groupSize: G });
  const arrays = {};
  for (const f of FIELDS) arrays[`ref_${f}`] = ref[f];
  return { name, N, T, D, K, G, dtype, layout, latents: lat, rewards: r, arrays };
}

// Rewards with ties (integers), so the stable sort's tie order matters.
function tiedRewards(N, K, seed) {
  const r = makeRewards(N, K, seed);
  for (let k = 0; k < r.length; k++) r[k] = Math.floor(r[k] * 3);
  return r;
}

const cases = [
  makeCase({ name: 'f32-tensor', N: 12, G: 4, T: 6, D: 257, K: 3, dtype: 'float32', layout: 'tensor', seed: 1 }),
  makeCase({ name: 'bf16-list', N: 8, G: 8, T: 5, D: 64, K: 3, dtype: 'bfloat16', layout: 'list', seed: 2 }),
  makeCase({ name: 'f16-tensor', N: 6, G: 3, T: 4, D: 131, K: 2, dtype: 'float16', layout: 'tensor', seed: 3 }),
  makeCase({ name: 'K1', N: 6, G: 3, T: 4, D: 33, K: 1, dtype: 'float32', layout: 'tensor', seed: 4 }),
  makeCase({ name: 'K5-groups', N: 24, G: 6, T: 16, D: 100, K: 5, dtype: 'float32', layout: 'list', seed: 5 }),
  makeCase({ name: 'G1', N: 4, G: 1, T: 3, D: 20, K: 5, dtype: 'float32', layout: 'tensor', seed: 6 }),
  makeCase({ name: 'ties', N: 12, G: 6, T: 8, D: 50, K: 4, dtype: 'float32', layout: 'tensor', seed: 7,
    rewards: tiedRewards(12, 4, 7) }),
  makeCase({ name: 'T1', N: 4, G: 2, T: 1, D: 9, K: 3, dtype: 'bfloat16', layout: 'tensor', seed: 8 }),
  makeCase({ name: 'zero-states', N: 4, G: 4, T: 3, D: 16, K: 3, dtype: 'float32', layout: 'tensor', seed: 9,
    edit: (z) => { z.fill(0, 1 * 16, 2 * 16); z.fill(0, (1 * 4 + 3) * 16, (1 * 4 + 4) * 16); } }),
  makeCase({ name: 'flux-like', N: 12, G: 12, T: 16, D: 4096, K: 3, dtype: 'bfloat16', layout: 'tensor', seed: 10 }),
];
writeCases(outDir, cases);
console.log(`wrote ${cases.length} reference cases to ${outDir}`);
