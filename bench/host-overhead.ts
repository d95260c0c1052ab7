/**
 * `npm run bench:host`: the host time of one call on a tiny case (N = 2, T = 1, D = 8, K = 3, so the
 * computation itself is a few hundred nanoseconds), in one run: the one-shot `otcaAdvantages`, a
 * plan's `step.run`, and `step.run` writing into output tensors passed back in (nothing allocated);
 * then the external memory and RSS over 100,000 same-shape runs of one plan. CPU backend.
 * Prints a table and one JSON line (BENCH_HOST ...) for bench/RESULTS.md.
 */
import { cpus } from 'node:os';
import { createAdvantageStep, otcaAdvantages, Tensor } from '../lib/index.js';

const [N, T, D, K, G] = [2, 1, 8, 3, 2];
const latents = Tensor.from(Float32Array.from({ length: N * (T + 1) * D }, (_, k) => Math.sin(k + 1)), [N, T + 1, D]);
const rewards = Tensor.from(Float32Array.from({ length: N * K }, (_, k) => Math.cos(k)), [N, K]);
const inputs = { rewards, latents, groupSize: G };
const options = { device: 'cpu' } as const;

/** Median over `rounds` of the mean time of `batch` calls, in microseconds. */
function median(fn: () => unknown, rounds = 41, batch = 2000): number {
  for (let k = 0; k < 5000; k++) fn();  // warm-up: JIT, caches, the plan's workspace
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < batch; k++) fn();
    times.push(Number(process.hrtime.bigint() - t0) / batch / 1000);
  }
  times.sort((a, b) => a - b);
  return times[(rounds - 1) / 2]!;
}

const step = createAdvantageStep(options);
const reuse = { advantages: Tensor.empty([N, T], 'float32') };
const rows = {
  otcaAdvantages: median(() => otcaAdvantages(inputs, options)),
  'step.run': median(() => step.run(inputs)),
  'step.run (outputs reused)': median(() => step.run(inputs, reuse)),
};

// memory over 100k same-shape runs (outputs reused: the loop allocates nothing of its own)
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage();
for (let k = 0; k < 100_000; k++) step.run(inputs, reuse);
gc?.();
const after = process.memoryUsage();
step.dispose();

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`host time per call, tiny case (N=${N}, T=${T}, D=${D}, K=${K}), ${cpu}, Node ${process.versions.node}, ${new Date().toISOString().slice(0, 10)}`);
console.log('| call | median us |');
console.log('|---|---:|');
for (const [name, us] of Object.entries(rows)) console.log(`| ${name} | ${us.toFixed(3)} |`);
const ratio = rows['step.run'] / rows.otcaAdvantages;
console.log(`step.run / otcaAdvantages = ${ratio.toFixed(2)}`);
console.log(
  `over 100k runs of one plan: external memory ${((after.external - before.external) / 1024).toFixed(1)} KiB, ` +
    `array buffers ${((after.arrayBuffers - before.arrayBuffers) / 1024).toFixed(1)} KiB, RSS ${((after.rss - before.rss) / 1024 / 1024).toFixed(2)} MiB${gc ? '' : ' (no --expose-gc: not collected first)'}`,
);
console.log(`BENCH_HOST ${JSON.stringify({ ...rows, ratio, externalDeltaBytes: after.external - before.external, rssDeltaBytes: after.rss - before.rss })}`);
