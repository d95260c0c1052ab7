// Hostile and careless callers, one scenario per process (run by test/cpu/hostile.test.ts, so that a
// crash is a failed test and not a dead test runner):
//   node test/helpers/hostile.mjs <scenario> <entry: file URL of the package's index.js> [device]
// Each scenario prints its findings as one JSON line starting with "RESULT " and exits with the
// code it names (a process that aborts or segfaults exits otherwise, and the test says so).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fill } from './fill.mjs';

const scenario = isMainThread ? process.argv[2] : workerData.scenario;
const entry = isMainThread ? process.argv[3] : workerData.entry;
// 'cpu', or 'cuda:0' for the worker scenarios on a (simulated) device: inputs are device tensors
const device = isMainThread ? process.argv[4] ?? 'cpu' : workerData.device;
const otca = await import(entry);
const gc = globalThis.gc ?? (() => {});

/** A case of N samples, T steps, D latent elements, K objectives over fresh arrays. */
function makeCase(N, T, D, K, seed, latentArray) {
  const latents = latentArray ?? fill(new Float32Array(N * (T + 1) * D), seed);
  const rewards = fill(new Float32Array(N * K), seed + 1);
  return {
    latents,
    rewards,
    input: { rewards: otca.Tensor.from(rewards, [N, K]), latents: otca.Tensor.from(latents, [N, T + 1, D]), groupSize: N },
  };
}

function result(value, code = 0) {
  console.log(`RESULT ${JSON.stringify(value)}`);
  process.exit(code);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs in a worker: async calls back to back (tiny or large) until the worker is ended. */
async function workerLoop(large, exitAfter) {
  const c = large ? makeCase(4, 16, 200_000, 3, 7) : makeCase(2, 2, 8, 2, 7);
  if (device !== 'cpu') c.input = { ...c.input, latents: c.input.latents.to(device), rewards: c.input.rewards.to(device) };
  parentPort.postMessage('started');
  let calls = 0;
  for (;;) {
    const pending = otca.otcaAdvantagesAsync(c.input, { outputs: 'all' });
    if (exitAfter !== undefined && ++calls === exitAfter) process.exit(3);  // with a call in flight
    await pending;
  }
}

function startWorker(name, data = {}) {
  const w = new Worker(new URL(import.meta.url), { workerData: { scenario: name, entry, device, ...data } });
  return new Promise((resolve, reject) => {
    w.once('message', () => resolve(w));
    w.once('error', reject);
  });
}

/**
 * Starts an async call, lets `attack(c)` act on its inputs while it is pending, collects garbage
 * and churns memory, then reports whether the call gave the exact result of the inputs as they
 * were when it started or rejected with a typed error.
 */
async function pendingCallUnder(attack, { N = 8, T = 16, D = 400_000, K = 3, array } = {}) {
  const c = makeCase(N, T, D, K, 11, array);
  const expected = Float32Array.from(otca.otcaAdvantages(c.input, { threads: 1 }).advantages.data);
  // settled into a value at once, so that a rejection is never unhandled while the attack runs
  const pending = otca.otcaAdvantagesAsync(c.input, { threads: 1 }).then(
    (value) => ({ value }),
    (error) => ({ error }),
  );
  let attacked;
  try {
    attacked = await attack(c);
  } catch (e) {
    attacked = `attack threw ${e.constructor.name}: ${e.message}`;
  }
  for (let m = 0; m < 4; m++) {
    gc();
    fill(new Float32Array(N * (T + 1) * D), 100 + m);  // reuse what was freed, if anything was
    await sleep(1);
  }
  const { value, error } = await pending;
  if (error !== undefined) return { attacked, settled: 'rejected', error: `${error.constructor.name}: ${error.message}` };
  const got = value.advantages.data;
  let same = got.length === expected.length;
  for (let i = 0; same && i < got.length; i++) same = Object.is(got[i], expected[i]);
  return { attacked, settled: 'resolved', exact: same };
}

const scenarios = {
  // 1. a worker that ends with a call in flight must not take the process down
  async 'worker-terminate'() {
    const workers = await Promise.all([startWorker('loop-tiny'), startWorker('loop-large')]);
    await sleep(300);
    await Promise.all(workers.map((w) => w.terminate()));
    const again = otca.otcaAdvantages(makeCase(2, 2, 8, 2, 1).input).advantages.data.length;
    result({ survived: true, again });
  },
  async 'worker-exit'() {
    const codes = [];
    for (const name of ['loop-tiny-exit', 'loop-large-exit']) {
      const w = new Worker(new URL(import.meta.url), { workerData: { scenario: name, entry, device } });
      codes.push(await new Promise((resolve, reject) => {
        w.once('exit', resolve);
        w.once('error', reject);
      }));
    }
    result({ survived: true, codes });
  },
  async 'main-exit'() {
    await Promise.all([startWorker('loop-tiny'), startWorker('loop-large'), startWorker('loop-tiny')]);
    await sleep(300);
    console.log('RESULT {"exiting":true}');
    process.exit(0);
  },
  'loop-tiny': () => workerLoop(false),
  'loop-large': () => workerLoop(true),
  'loop-tiny-exit': () => workerLoop(false, 50),
  'loop-large-exit': () => workerLoop(true, 1),

  // 2. inputs detached while a call is pending
  async 'detach-structured-clone'() {
    result(await pendingCallUnder((c) => {
      structuredClone(c.latents.buffer, { transfer: [c.latents.buffer] });
      return `latents byteLength ${c.latents.byteLength} after the transfer`;
    }));
  },
  async 'detach-post-message'() {
    const { port1, port2 } = new MessageChannel();
    const r = await pendingCallUnder((c) => {
      port1.postMessage(c.latents.buffer, [c.latents.buffer]);
      return `latents byteLength ${c.latents.byteLength} after the transfer`;
    });
    port1.close();
    port2.close();
    result(r);
  },
  async 'detach-rewards'() {
    result(await pendingCallUnder((c) => {
      structuredClone(c.rewards.buffer, { transfer: [c.rewards.buffer] });
      return `rewards byteLength ${c.rewards.byteLength}`;
    }));
  },
  async 'detach-transfer-method'() {
    result(await pendingCallUnder((c) => {
      if (typeof ArrayBuffer.prototype.transfer !== 'function') return 'no ArrayBuffer.prototype.transfer here';
      c.latents.buffer.transfer();
      return `latents byteLength ${c.latents.byteLength}`;
    }));
  },
  // 3. resizable buffers shrunk while a call is pending
  async 'shrink-length-tracking'() {
    const [N, T, D] = [8, 16, 400_000];
    const ab = new ArrayBuffer(N * (T + 1) * D * 4, { maxByteLength: N * (T + 1) * D * 4 });
    const array = fill(new Float32Array(ab), 11);
    result(await pendingCallUnder(() => {
      ab.resize(0);
      return 'resized to 0';
    }, { N, T, D, array }));
  },
  async 'shrink-fixed-view'() {
    const [N, T, D] = [8, 16, 400_000];
    const ab = new ArrayBuffer(N * (T + 1) * D * 4, { maxByteLength: N * (T + 1) * D * 4 });
    const array = fill(new Float32Array(ab, 0, N * (T + 1) * D), 11);
    result(await pendingCallUnder(() => {
      ab.resize(0);
      return 'resized to 0';
    }, { N, T, D, array }));
  },
};

// 4. keys on Object.prototype and Array.prototype change nothing: not the numbers, not the results' keys
scenarios['prototype-pollution'] = async () => {
  const c = makeCase(4, 3, 40, 2, 5);
  const q = new Float32Array([0.1, -0.2, 0.3, 0.05]);
  const calls = {
    sync: () => otca.otcaAdvantages(c.input, { device: 'cpu' }),
    syncAll: () => otca.otcaAdvantages(c.input, { device: 'cpu', outputs: 'all' }),
    async: () => otca.otcaAdvantagesAsync(c.input, { device: 'cpu' }),
    trajectory: () => otca.trajectoryCredit({ latents: c.input.latents }, { device: 'cpu' }),
    objective: () => otca.objectiveCredit({ rewards: c.input.rewards, trajectoryScore: q, groupSize: 4 }, { device: 'cpu' }),
    reference: () => otca.referenceAdvantages({ rewards: c.rewards, K: 2, latents: c.latents, N: 4, T: 3, groupSize: 4 }),
    referenceTensors: () => otca.referenceAdvantages(c.input),
    step: () => otca.createAdvantageStep({ device: 'cpu' }).run(c.input),
    diagnostics: () => otca.creditDiagnostics({ data: q, shape: [2, 2] }, { data: Float32Array.from([0.3, 0.1, -0.2, 0.4]), shape: [2, 2] }),
  };
  const snapshot = async () => {
    const out = {};
    for (const [name, call] of Object.entries(calls)) {
      const r = await call();
      out[name] = name === 'diagnostics'
        ? r
        : { keys: Object.keys(r).sort(), values: Object.fromEntries(Object.keys(r).filter((k) => k !== 'backend').map((k) => [k, Array.from(r[k] instanceof otca.Tensor ? r[k].data : r[k])])) };
    }
    return JSON.stringify(out);
  };
  const clean = await snapshot();
  const pollution = {
    temporal: 'uniform', objective: 'min-norm', stdScope: 'batch', weightScale: 'sum', explorationSignal: 'centered',
    objectiveScale: [3, 3], objectiveWeights: [2, 2], minWeight: 0.9, stdCorrection: 0, advClip: 0.1, epsAdv: 1,
    epsTcd: 0.5, epsMoca: 2, epsSolver: 0.5, outputs: 'all', outputDevice: 'device', threads: 3, device: 'cuda',
    foo: 1, 0: 1, 1: 2, 10: 3, states: [1], trajectoryScore: new Float32Array(4), header: 1, groupSize: 2,
    N: 2, T: 1, D: 3, K: 4, dtype: 'float16', preset: 'flow-grpo', groupIds: [0, 0, 1, 1], data: [1], shape: [1, 1],
  };
  for (const [k, v] of Object.entries(pollution)) Object.prototype[k] = v;
  Array.prototype[5] = 'x';
  let polluted;
  try {
    polluted = await snapshot();
  } catch (e) {
    polluted = `threw ${e.constructor.name}: ${e.message}`;
  } finally {
    for (const k of Object.keys(pollution)) delete Object.prototype[k];
    delete Array.prototype[5];
  }
  result({ same: polluted === clean, polluted: polluted === clean ? undefined : polluted.slice(0, 300) });
};

const run = scenarios[scenario];
if (!run) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
await run();
