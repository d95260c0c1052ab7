/**
 * `npm run bench:cpu`: the CPU advantage step against a plain TypeScript implementation and against
 * a read-bandwidth probe over the same bytes, in one run on this machine. Prints a markdown table;
 * `--record` also appends it to bench/RESULTS.md with the machine and date.
 *
 * What is counted: the bytes of the latents read once (N * (T+1) * D * elemSize). The native step
 * reads each byte once; the plain TS baseline reads the final state again for every state.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Tensor, backendInfo, encodeBFloat16, otcaAdvantages } from '../lib/index.js';
import { readProbe } from '../lib/native.js';
import { plainAdvantages } from './plain-ts.js';

interface Workload {
  name: string;
  N: number;
  G: number;
  T: number;
  D: number;
  K: number;
}

const workloads: Workload[] = [
  { name: 'FLUX-512', N: 12, G: 12, T: 16, D: 65_536, K: 3 },
  { name: 'FLUX-512 x8 groups', N: 96, G: 12, T: 16, D: 65_536, K: 3 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeIt(fn: () => void, reps: number, warmup = 2): number {
  for (let r = 0; r < warmup; r++) fn();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(ts);
}

/** A flow-like trajectory: z_t = (1 - s_t) * noise + s_t * x, so the cosines move as in a sampler. */
function makeLatents(N: number, T: number, D: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const rand = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  const z = new Float32Array(N * (T + 1) * D);
  const noise = new Float32Array(D);
  const x = new Float32Array(D);
  for (let i = 0; i < N; i++) {
    for (let d = 0; d < D; d++) {
      noise[d] = rand();
      x[d] = rand();
    }
    for (let j = 0; j <= T; j++) {
      const s = j / T;
      const off = (i * (T + 1) + j) * D;
      for (let d = 0; d < D; d++) z[off + d] = (1 - s) * noise[d] + s * x[d] + 0.01 * rand();
    }
  }
  return z;
}

function main(): void {
  const record = process.argv.includes('--record');
  const info = backendInfo();
  const threads = info.backends.cpu.threads;
  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  const rows: string[] = [];
  const header =
    '| workload | dtype | MB read | native ms | plain TS ms | probe ms | native GB/s | probe GB/s | native / probe bandwidth | speed-up over plain TS |';
  const rule = '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  console.log(`otca CPU benchmark: ${cpuModel}, ${os.cpus().length} cores, ${threads} threads, node ${process.version}`);
  console.log(header);
  console.log(rule);
  for (const wl of workloads) {
    const { N, G, T, D, K } = wl;
    const z32 = makeLatents(N, T, D, 1234);
    const rewards = new Float32Array(N * K).map((_, k) => Math.sin(k * 12.9898) * 0.5 + 0.5);
    for (const dtype of ['float32', 'bfloat16'] as const) {
      const data = dtype === 'float32' ? z32 : encodeBFloat16(z32);
      const bytes = data.byteLength;
      const latents = Tensor.from(data as never, [N, T + 1, D], dtype as never);
      const rw = Tensor.from(rewards, [N, K]);
      const reps = bytes > 200e6 ? 5 : 9;
      const tNative = timeIt(() => otcaAdvantages({ rewards: rw, latents, groupSize: G }, { device: 'cpu' }), reps);
      const tPlain = timeIt(
        () => plainAdvantages(rewards, K, data, N, T, D, G),
        bytes > 200e6 ? 2 : 3,
        1,
      );
      const tProbe = timeIt(() => readProbe(data, threads), reps);
      const gb = bytes / 1e9;
      const row = `| ${wl.name} (N=${N}, G=${G}, T=${T}, D=${D}) | ${dtype} | ${(bytes / 1e6).toFixed(1)} | ${(tNative * 1e3).toFixed(2)} | ${(tPlain * 1e3).toFixed(1)} | ${(tProbe * 1e3).toFixed(2)} | ${(gb / tNative).toFixed(2)} | ${(gb / tProbe).toFixed(2)} | ${((100 * tProbe) / tNative).toFixed(0)}% | ${(tPlain / tNative).toFixed(1)}x |`;
      console.log(row);
      rows.push(row);
    }
  }
  if (record) {
    const path = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url));
    const date = new Date().toISOString().slice(0, 10);
    const existing = (() => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return '# otca benchmark results\n';
      }
    })();
    const block = [
      '',
      `## CPU, ${date}: ${cpuModel}, ${os.cpus().length} cores, ${threads} threads, node ${process.version}, otca ${info.version}`,
      '',
      'Medians of repeated runs in one process; the probe reads the same bytes with the same thread count (16-byte loads).',
      '',
      header,
      rule,
      ...rows,
      '',
    ].join('\n');
    appendFileSync(path, (existing.endsWith('\n') ? '' : '\n') + block);
    console.log(`recorded in ${path}`);
  }
}

main();
