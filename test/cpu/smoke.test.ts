// Smoke test of the binding and the public surface: the addon loads (also in a worker_threads
// Worker: it is context-aware), results have the documented shapes and say which backend ran, and a bad
// input fails with the documented message before any work.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import {
  backendInfo,
  creditDiagnostics,
  objectiveCredit,
  otcaAdvantages,
  otcaAdvantagesAsync,
  Tensor,
  trajectoryCredit,
} from '../../lib/index.js';

const N = 6, G = 3, T = 4, D = 33, K = 2;
const latents = () => Tensor.from(Float32Array.from({ length: N * (T + 1) * D }, (_, i) => Math.sin(i * 0.37)), [N, T + 1, D]);
const rewards = () => Tensor.from(Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 1.3)), [N, K]);

describe('smoke', () => {
  it('exports the public surface', () => {
    for (const f of [otcaAdvantages, otcaAdvantagesAsync, trajectoryCredit, objectiveCredit, creditDiagnostics, backendInfo]) {
      expect(typeof f).toBe('function');
    }
  });

  it('reports its backends and binary', () => {
    const info = backendInfo();
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.backends.cpu).toMatchObject({ compiled: true, usable: true });
    expect(info.backends.cpu.threads).toBeGreaterThanOrEqual(1);
    expect(typeof info.backends.cuda.compiled).toBe('boolean');
    if (!info.backends.cuda.usable) expect(info.backends.cuda.reason).toBeTruthy();
    expect(info.binary).toMatch(/otca\.node$/);
  });

  it('Tensor.from is a zero-copy view with a frozen shape', () => {
    const data = new Float32Array(6);
    const t = Tensor.from(data, [2, 3]);
    expect(t.data).toBe(data);
    expect(t.dtype).toBe('float32');
    expect(t.device).toBe('cpu');
    expect(t.size).toBe(6);
    expect(Object.isFrozen(t.shape)).toBe(true);
    expect(t.to('cpu')).toBe(t);
    expect(Tensor.from(new Uint16Array(4), [4], 'bfloat16').dtype).toBe('bfloat16');
  });

  it('computes advantages with the documented shapes on the cpu backend', async () => {
    const out = otcaAdvantages({ rewards: rewards(), latents: latents(), groupSize: G }, { outputs: 'all' });
    expect(out.backend).toBe('cpu');
    expect(out.advantages.shape).toEqual([N, T]);
    expect(out.advantages.data).toBeInstanceOf(Float32Array);
    expect(out.similarity.shape).toEqual([N, T + 1]);
    expect(out.deltaS.shape).toEqual([N, T]);
    expect(out.objectiveAdvantages.shape).toEqual([N, K]);
    expect(out.coefficients.shape).toEqual([N, K]);
    expect(out.lambda.shape).toEqual([N]);
    expect(out.advantages.data.every(Number.isFinite)).toBe(true);
    const plain = otcaAdvantages({ rewards: rewards(), latents: latents(), groupSize: G });
    expect(Object.keys(plain).sort()).toEqual(['advantages', 'backend']);
    const async = await otcaAdvantagesAsync({ rewards: rewards(), latents: latents(), groupSize: G });
    expect(Array.from(async.advantages.data)).toEqual(Array.from(out.advantages.data));
  });

  it('rejects a bad group size with the documented message', async () => {
    const call = (groupSize: number) => () => otcaAdvantages({ rewards: rewards(), latents: latents(), groupSize });
    expect(call(0)).toThrow(new RangeError('Expected integer >= 1 for groupSize but received 0'));
    expect(call(4)).toThrow(new RangeError('Expected N (6) divisible by groupSize (4) for groupSize but received 4'));
    await expect(otcaAdvantagesAsync({ rewards: rewards(), latents: latents(), groupSize: 0 })).rejects.toThrow(RangeError);
  });

  it('loads and runs inside a worker_threads Worker', async () => {
    // The worker runs plain JS, so it imports the built dist/ (npm test builds it first).
    const entry = new URL('../../dist/lib/index.js', import.meta.url).href;
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(entry)}).then((otca) => {
        const { Tensor, otcaAdvantages } = otca;
        const z = new Float32Array(${N * (T + 1) * D}).map((_, i) => Math.sin(i * 0.37));
        const r = new Float32Array(${N * K}).map((_, i) => Math.cos(i * 1.3));
        const out = otcaAdvantages({ rewards: Tensor.from(r, [${N}, ${K}]), latents: Tensor.from(z, [${N}, ${T + 1}, ${D}]), groupSize: ${G} });
        parentPort.postMessage({ backend: out.backend, adv: Array.from(out.advantages.data) });
      }, (e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
    `;
    const worker = new Worker(code, { eval: true });
    const msg = await new Promise<{ backend?: string; adv?: number[]; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(msg.error).toBeUndefined();
    expect(msg.backend).toBe('cpu');
    const main = otcaAdvantages({ rewards: rewards(), latents: latents(), groupSize: G });
    expect(msg.adv).toEqual(Array.from(main.advantages.data));
  });
});
