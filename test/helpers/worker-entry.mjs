// Runs inside a worker_threads Worker: imports the built package and computes one case sent by
// the parent, posting back the result arrays (or the error message).
import { parentPort, workerData } from 'node:worker_threads';

const api = await import(workerData.entry);
parentPort.on('message', async (msg) => {
  if (msg === 'exit') {
    parentPort.close();
    return;
  }
  try {
    const { N, T, D, K, G, latents, rewards, useAsync } = msg;
    const input = {
      rewards: api.Tensor.from(rewards, [N, K]),
      latents: api.Tensor.from(latents, [N, T + 1, D]),
      groupSize: G,
    };
    const out = useAsync
      ? await api.otcaAdvantagesAsync(input, { outputs: 'all' })
      : api.otcaAdvantages(input, { outputs: 'all' });
    const fields = {};
    for (const [k, v] of Object.entries(out)) if (v && v.data) fields[k] = v.data;
    let error = '';
    try {
      api.otcaAdvantages({ ...input, groupSize: 0 });
    } catch (e) {
      error = `${e.constructor.name}: ${e.message}`;
    }
    parentPort.postMessage({ fields, backend: out.backend, error, info: api.backendInfo() });
  } catch (e) {
    parentPort.postMessage({ failure: String(e && e.stack || e) });
  }
});
