// The published package, as a user gets it: `scripts/pack.mjs --reuse` packs the tarball (a prebuild
// made from the addon `npm test` already built, through the same prebuildify + shim path `prepack`
// uses, so no second CUDA compile), then it is installed into an empty folder with
// `npm install --offline` (node-gyp-build from the npm cache) and a PATH holding only node and sh: no
// compiler, cmake or nvcc. There: import, require and a worker_threads Worker load the prebuild and
// match the reference; without the prebuild the load error reads as specified and the documented
// from-source rebuild (`npm rebuild otca`, offline, CPU-only from binding.gyp) works.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const npmCli = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const work = mkdtempSync(join(tmpdir(), 'otca-package-'));
const app = join(work, 'app');
const bareBin = join(work, 'bin');
const barePath = bareBin; // node and sh only
const fullPath = process.env.PATH ?? '';
const installed = join(app, 'node_modules', 'otca');

// One check, written once as ESM and once as CommonJS, printing a JSON line.
const checkBody = `
const rng = (() => { let s = 12345; return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1; })();
const N = 4, G = 2, T = 3, D = 64, K = 2;
const lat = new Float32Array(N * (T + 1) * D).map(rng);
const rew = new Float32Array(N * K).map(rng);
const out = otca.otcaAdvantages({ rewards: otca.Tensor.from(rew, [N, K]), latents: otca.Tensor.from(lat, [N, T + 1, D]), groupSize: G });
const ref = otca.referenceAdvantages({ rewards: otca.Tensor.from(rew, [N, K]), latents: otca.Tensor.from(lat, [N, T + 1, D]), groupSize: G });
let worst = 0;
for (let i = 0; i < N * T; i++) worst = Math.max(worst, Math.abs(out.advantages.data[i] - ref.advantages[i]) / Math.max(1e-6, Math.abs(ref.advantages[i])));
const info = otca.backendInfo();
const result = JSON.stringify({ binary: info.binary, cuda: info.backends.cuda.compiled, backend: out.backend, worst, version: info.version });
`;
const checks: Record<string, string> = {
  'check.mjs': `import * as otca from 'otca';\n${checkBody}\nconsole.log(result);\n`,
  'check.cjs': `const otca = require('otca');\n${checkBody}\nconsole.log(result);\n`,
  'worker.mjs': [
    "import { Worker, isMainThread, parentPort } from 'node:worker_threads';",
    'if (isMainThread) {',
    "  const w = new Worker(new URL(import.meta.url));",
    "  w.on('message', (m) => { console.log(m); });",
    "  w.on('error', (e) => { console.error(e); process.exitCode = 1; });",
    '} else {',
    "  const otca = await import('otca');",
    checkBody,
    '  parentPort.postMessage(result);',
    '}',
  ].join('\n'),
};

function run(cmd: string, args: string[], PATH: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: app, encoding: 'utf8', env: { ...process.env, PATH }, timeout: 240_000 });
}

function check(file: string): { binary: string; cuda: boolean; backend: string; worst: number; version: string } {
  const r = run(process.execPath, [file], barePath);
  expect(r.status, `${file}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('the packed tarball', () => {
  const prebuild = join(installed, 'prebuilds', 'linux-x64', 'otca.node');

  beforeAll(() => {
    const out = execFileSync(process.execPath, [join(root, 'scripts', 'pack.mjs'), '--reuse', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 600_000,
    });
    const line = out.split('\n').find((l) => l.startsWith('OTCA_PACK '));
    const packed = JSON.parse((line as string).slice('OTCA_PACK '.length)) as { tarball: string; unpackedSize: number; files: string[] };
    expect(packed.unpackedSize).toBeLessThan(15_000_000);
    expect(packed.files).toContain('prebuilds/linux-x64/otca.node');
    expect(packed.files).toContain('dist/cjs/package.json');
    expect(packed.files.some((f) => f.startsWith('build/') || f.startsWith('lib/') || f.startsWith('test/'))).toBe(false);

    mkdirSync(bareBin, { recursive: true });
    symlinkSync(process.execPath, join(bareBin, 'node'));
    symlinkSync('/bin/sh', join(bareBin, 'sh'));
    for (const tool of ['cc', 'gcc', 'g++', 'c++', 'make', 'cmake', 'nvcc', 'python3']) {
      expect(run('/bin/sh', ['-c', `command -v ${tool}`], barePath).status, `${tool} on the bare PATH`).not.toBe(0);
    }
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    for (const [name, text] of Object.entries(checks)) writeFileSync(join(app, name), text);
    // node-gyp-build (otca's one dependency) from the checkout's own node_modules, packed here: an
    // offline install then needs nothing from npm's cache (npm ci caches tarballs, not the metadata
    // a version range resolves through)
    const dep = execFileSync(process.execPath, [npmCli, 'pack', join(root, 'node_modules', 'node-gyp-build'), '--pack-destination', work], {
      encoding: 'utf8',
    }).trim().split('\n').pop() as string;
    const r = run(process.execPath, [npmCli, 'install', '--offline', '--no-audit', '--no-fund', packed.tarball, join(work, dep)], barePath);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(installed, 'prebuilds', 'linux-x64', 'otca.node'))).toBe(true);
    expect(existsSync(join(installed, 'build'))).toBe(false); // installing never compiled anything
  }, 600_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('loads its prebuild through import, require and a worker_threads Worker, and matches the reference', () => {
    for (const file of ['check.mjs', 'check.cjs', 'worker.mjs']) {
      const got = check(file);
      expect(got.binary, file).toBe(prebuild);
      expect(got.backend, file).toBe('cpu');
      expect(got.worst, file).toBeLessThan(1e-5);
      expect(got.version).toBe('0.1.0');
    }
  });

  it('without the prebuild, says what it tried and how to fix it; `npm rebuild otca` then builds CPU-only from source', () => {
    rmSync(join(installed, 'prebuilds'), { recursive: true, force: true });
    const failed = run(process.execPath, ['check.cjs'], barePath);
    expect(failed.status).not.toBe(0);
    const msg = failed.stderr;
    expect(msg).toContain('otca: no native binary found for linux-x64 (Node ');
    expect(msg).toMatch(/N-API \d+, glibc \d+\.\d+\)/);
    expect(msg).toContain(`Tried:\n- ${join(installed, 'build', 'Release')}: absent`);
    expect(msg).toContain(`- ${join(installed, 'prebuilds', 'linux-x64')}: absent`);
    expect(msg).toContain('Possible solutions:');
    expect(msg).toContain('`npm rebuild otca`');
    expect(msg).toContain('CPU-only');

    // The documented rebuild: a compiler on PATH, still offline (headers from nodedir / /usr/include/node).
    const rebuilt = run(process.execPath, [npmCli, 'rebuild', 'otca', '--offline'], fullPath);
    expect(rebuilt.status, rebuilt.stdout + rebuilt.stderr).toBe(0);
    const built = join(installed, 'build', 'Release', 'otca.node');
    expect(existsSync(built)).toBe(true);
    for (const file of ['check.mjs', 'check.cjs']) {
      const got = check(file);
      expect(got.binary, file).toBe(built);
      expect(got.cuda, file).toBe(false);
      expect(got.worst, file).toBeLessThan(1e-5);
    }
  }, 300_000);
});
