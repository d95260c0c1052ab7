// A hostile or careless caller cannot crash the process or get wrong numbers (issue "Reliability"):
// each scenario of test/helpers/hostile.mjs runs in its own process, so a crash is a failed test
// with its exit code and output, not a dead test runner.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = pathToFileURL(join(root, 'dist', 'lib', 'index.js')).href;
const script = join(root, 'test', 'helpers', 'hostile.mjs');
const simBinary = join(root, 'build', 'simulated', 'build', 'Release', 'otca.node');

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  result: Record<string, unknown> | undefined;
  output: string;
}

function runScenario(name: string, device = 'cpu'): Outcome {
  const env = { ...process.env, OTCA_DEVICE: undefined } as NodeJS.ProcessEnv;
  if (device !== 'cpu') env.OTCA_PREBUILD = join(root, 'build', 'simulated');
  const r = spawnSync(process.execPath, ['--expose-gc', script, name, entry, device], { cwd: root, env, encoding: 'utf8', timeout: 180_000 });
  const output = `${r.stdout}\n${r.stderr}`;
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { status: r.status, signal: r.signal, result: line ? JSON.parse(line.slice(7)) : undefined, output };
}

function expectClean(o: Outcome): Record<string, unknown> {
  expect(o.signal, o.output).toBeNull();
  expect(o.status, o.output).toBe(0);
  expect(o.result, o.output).toBeDefined();
  return o.result as Record<string, unknown>;
}

describe('a worker that ends with a call in flight', () => {
  it('worker.terminate() with tiny and large async calls pending: the process lives on', () => {
    expect(expectClean(runScenario('worker-terminate'))).toEqual({ survived: true, again: 4 });
  });
  it('process.exit() inside workers with a call pending: each worker exits with its own code', () => {
    expect(expectClean(runScenario('worker-exit'))).toEqual({ survived: true, codes: [3, 3] });
  });
  // process.exit races the workers' calls: an error raised by a native method while a worker's
  // environment is torn down once aborted about one run in five (std::terminate from node-addon-api's
  // rethrow), so the scenario runs several times (~0.6 s each).
  const EXIT_RUNS = 8;
  it('process.exit(0) on the main thread while workers have calls pending: exit code 0', () => {
    for (let k = 0; k < EXIT_RUNS; k++) expect(expectClean(runScenario('main-exit'))).toEqual({ exiting: true });
  });
  it.skipIf(!existsSync(simBinary))('the same with device tensors on the simulated CUDA device', () => {
    expect(expectClean(runScenario('worker-terminate', 'cuda:0'))).toEqual({ survived: true, again: 4 });
    expect(expectClean(runScenario('worker-exit', 'cuda:0'))).toEqual({ survived: true, codes: [3, 3] });
    for (let k = 0; k < EXIT_RUNS; k++) expect(expectClean(runScenario('main-exit', 'cuda:0'))).toEqual({ exiting: true });
  });
});

describe('inputs of a pending async call', () => {
  // The buffer is marked untransferable when the call starts: Node 20 clones it instead of moving
  // it, Node >= 21 refuses the transfer (the attack throws); either way the call reads live memory.
  for (const name of ['detach-structured-clone', 'detach-post-message', 'detach-rewards', 'detach-transfer-method']) {
    it(`${name}: the exact result of the inputs as they were`, () => {
      const r = expectClean(runScenario(name));
      expect(r.settled, JSON.stringify(r)).toBe('resolved');
      expect(r.exact, JSON.stringify(r)).toBe(true);
    });
  }
  for (const name of ['shrink-length-tracking', 'shrink-fixed-view']) {
    it(`${name}: a resizable ArrayBuffer is refused with a TypeError naming the input`, () => {
      const r = expectClean(runScenario(name));
      expect(r.settled).toBe('rejected');
      expect(r.error).toMatch(/^TypeError: Expected a view of a fixed-length ArrayBuffer or a SharedArrayBuffer .* for latents but received a view of a resizable ArrayBuffer$/);
    });
  }
});

describe('Object.prototype and Array.prototype', () => {
  it('keys added to them change no call, no result and no result keys (sync, async, phases, reference)', () => {
    expect(expectClean(runScenario('prototype-pollution'))).toEqual({ same: true });
  });
});
