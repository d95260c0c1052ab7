#!/usr/bin/env node
// The Node call's time for bench/python/bench.py, in the same run: `node node_time.mjs N G T D K
// DTYPE REPS` prints the median seconds of `step.run` (createAdvantageStep, CPU backend) over REPS
// calls after two warm-up calls, on flow-like random latents of that shape and dtype.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const { Tensor, createAdvantageStep, encodeBFloat16 } = await import(pathToFileURL(join(root, 'dist', 'lib', 'index.js')).href);
const [N, G, T, D, K] = process.argv.slice(2, 7).map(Number);
const dtype = process.argv[7];
const reps = Number(process.argv[8]);
let s = 12345;
const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) - 0.5;
const z = new Float32Array(N * (T + 1) * D);
for (let i = 0; i < N; i++) {
  const noise = Float32Array.from({ length: D }, rand);
  const x = Float32Array.from({ length: D }, rand);
  for (let j = 0; j <= T; j++) {
    const a = j / T;
    for (let d = 0; d < D; d++) z[(i * (T + 1) + j) * D + d] = (1 - a) * noise[d] + a * x[d] + 0.05 * rand();
  }
}
const latents = dtype === 'bfloat16' ? Tensor.from(encodeBFloat16(z), [N, T + 1, D], 'bfloat16') : Tensor.from(z, [N, T + 1, D]);
const rewards = Tensor.from(Float32Array.from({ length: N * K }, rand), [N, K]);
const step = createAdvantageStep({ device: 'cpu' });
const ts = [];
for (let r = 0; r < reps + 2; r++) {
  const t0 = process.hrtime.bigint();
  step.run({ rewards, latents, groupSize: G });
  if (r >= 2) ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
ts.sort((a, b) => a - b);
console.log(JSON.stringify({ median_s: ts[Math.floor(ts.length / 2)] }));
