// The published package, as a user gets it: `scripts/pack.mjs --reuse` packs the tarball (a prebuild
// made from the addon `npm test` already built, through the same prebuildify + shim path a release
// uses, so no second CUDA compile), then it is installed into an empty folder with
// `npm install --offline` (node-gyp-build from the checkout) and a PATH holding only node and sh: no
// compiler, cmake or nvcc. There: the tarball's manifest and files (no install script, no script
// naming a missing file, os/cpu/libc, no test or internal source, no internal types, a LICENSE);
// import, require and a worker_threads Worker load the prebuild and match the reference; one Tensor
// class and one set of errors for import and require; `otca/tfjs` (tfjs from the checkout), never
// loaded by `otca`; a bundled copy's error; without the prebuild the load error reads as specified,
// and the documented from-source build (src/build-from-source.mjs, offline: node-gyp, and CMake where
// installed, CPU-only) works, without shadowing a prebuild that has CUDA. The tarball itself: publint and
// arethetypeswrong report nothing, `otca` and `otca/tfjs` type-check under every moduleResolution, an
// ES-module bundle (esbuild) of otca fails with otca's own message, and the shipped binaries need no
// more of the system than the README's platform floor (symbol versions, libraries).
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
let packed: { tarball: string; packedSize: number; unpackedSize: number; files: string[] };

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
  // A CommonJS helper library's tensors and errors, used by an ES-module trainer.
  'one-class.mjs': `
import { createRequire } from 'node:module';
import * as esm from 'otca';
const cjs = createRequire(import.meta.url)('otca');
const N = 4, G = 2, T = 3, D = 8, K = 2;
const rewards = cjs.Tensor.from(new Float32Array(N * K).map((_, i) => Math.sin(i)), [N, K]);
const latents = cjs.Tensor.from(new Float32Array(N * (T + 1) * D).map((_, i) => Math.cos(i)), [N, T + 1, D]);
const a = esm.otcaAdvantages({ rewards, latents, groupSize: G }).advantages;
const b = cjs.otcaAdvantages({ rewards: esm.Tensor.from(rewards.data, [N, K]), latents, groupSize: G }).advantages;
let err;
try { esm.otcaAdvantages({ rewards, latents, groupSize: G }, { device: 'cuda:0' }); } catch (e) { err = e; }
console.log(JSON.stringify({
  sameTensor: esm.Tensor === cjs.Tensor,
  esmResultIsCjsTensor: a instanceof cjs.Tensor,
  same: a.data.every((v, i) => v === b.data[i]),
  errorAcross: err instanceof cjs.DeviceUnavailableError && err instanceof esm.DeviceUnavailableError,
}));
`,
  // otca/tfjs from both entries, against the main API; the main entry never loads tfjs.
  'tfjs.cjs': `
const otca = require('otca');
const loadedByMain = Object.keys(require.cache).some((k) => k.includes('@tensorflow'));
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
tf.env().set('PROD', true);
const { otcaAdvantagesTf } = require('otca/tfjs');
(async () => {
  await tf.setBackend('cpu');
  const N = 4, G = 2, T = 3, D = 8, K = 2;
  const rew = new Float32Array(N * K).map((_, i) => Math.sin(i + 1));
  const lat = new Float32Array(N * (T + 1) * D).map((_, i) => Math.cos(i * 0.7));
  const want = otca.otcaAdvantages({ rewards: otca.Tensor.from(rew, [N, K]), latents: otca.Tensor.from(lat, [N, T + 1, D]), groupSize: G }).advantages.data;
  const adv = await otcaAdvantagesTf({ rewards: tf.tensor2d(rew, [N, K]), latents: tf.tensor3d(lat, [N, T + 1, D]), groupSize: G });
  const esm = await import('otca/tfjs');
  const adv2 = await esm.otcaAdvantagesTf({ rewards: tf.tensor2d(rew, [N, K]), latents: tf.tensor3d(lat, [N, T + 1, D]), groupSize: G });
  let message = '';
  try { otca.otcaAdvantages({ rewards: tf.tensor2d(rew, [N, K]), latents: otca.Tensor.from(lat, [N, T + 1, D]), groupSize: G }); } catch (e) { message = e.message; }
  const got = adv.dataSync();
  console.log(JSON.stringify({ loadedByMain, shape: adv.shape, same: got.every((v, i) => v === want[i]) && adv2.dataSync().every((v, i) => v === want[i]), message }));
})();
`,
};

function run(cmd: string, args: string[], PATH: string, env: Record<string, string> = {}, cwd = app): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, PATH, ...env }, timeout: 300_000 });
}

function json<T>(file: string, env: Record<string, string> = {}): T {
  const r = run(process.execPath, [file], barePath, env);
  expect(r.status, `${file}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as T;
}

type Check = { binary: string; cuda: boolean; backend: string; worst: number; version: string };

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('the packed tarball', () => {
  const prebuild = join(installed, 'prebuilds', 'linux-x64', 'otca.node');

  beforeAll(() => {
    // its progress (stderr) is shown only where it fails
    const pack = spawnSync(process.execPath, [join(root, 'scripts', 'pack.mjs'), '--reuse', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
      timeout: 600_000,
    });
    expect(pack.status, pack.stderr).toBe(0);
    const out = pack.stdout;
    const line = out.split('\n').find((l) => l.startsWith('OTCA_PACK '));
    packed = JSON.parse((line as string).slice('OTCA_PACK '.length));

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
    const dep = execFileSync(process.execPath, [npmCli, 'pack', join(root, 'node_modules', 'node-gyp-build'), '--loglevel=warn', '--pack-destination', work], {
      encoding: 'utf8',
    }).trim().split('\n').pop() as string;
    const r = run(process.execPath, [npmCli, 'install', '--offline', '--no-audit', '--no-fund', packed.tarball, join(work, dep)], barePath);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/install-scripts|allowScripts/);
    expect(existsSync(join(installed, 'prebuilds', 'linux-x64', 'otca.node'))).toBe(true);
    expect(existsSync(join(installed, 'build'))).toBe(false); // installing never compiled anything
    // tfjs, the optional peer, from the checkout (its dependencies resolve from there)
    mkdirSync(join(app, 'node_modules', '@tensorflow'), { recursive: true });
    for (const p of ['tfjs-core', 'tfjs-backend-cpu']) {
      symlinkSync(join(root, 'node_modules', '@tensorflow', p), join(app, 'node_modules', '@tensorflow', p));
    }
  }, 600_000);

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('ships the package and nothing else: no install script, no script without its file, no test or internal source', () => {
    const files = packed.files;
    expect(packed.unpackedSize).toBeLessThan(15_000_000);
    for (const f of ['prebuilds/linux-x64/otca.node', 'dist/cjs/package.json', 'dist/cjs/index.js', 'dist/esm/index.js', 'dist/esm/tfjs.js',
      'dist/cjs/tfjs.d.ts', 'LICENSE', 'README.md', 'CHANGELOG.md', 'src/binding.gyp', 'src/CMakeLists.txt', 'src/build-from-source.mjs',
      'src/vendor/node-addon-api/napi.h', 'docs/algorithm.md', 'tfjs/package.json']) {
      expect(files, f).toContain(f);
    }
    // no binding.gyp at the root: pnpm and yarn would infer a `node-gyp rebuild` install script from it
    expect(files.filter((f) => /^(binding\.gyp|build\/|lib\/|test\/|bench\/|examples\/|scripts\/|docs\/api\/)/.test(f) || f.includes('/test/'))).toEqual([]);
    expect(files.filter((f) => /(^|\/)(native|validate|own)\.d\.ts$/.test(f))).toEqual([]);

    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.scripts)).toEqual(['build-from-source']);
    for (const command of Object.values(manifest.scripts) as string[]) {
      const file = /node (\S+)/.exec(command)?.[1] as string;
      expect(existsSync(join(installed, file)), command).toBe(true);
    }
    expect(manifest.devDependencies).toBeUndefined();
    expect(manifest).toMatchObject({ os: ['linux'], cpu: ['x64'], libc: ['glibc'], gypfile: false, license: 'MIT' });
    expect(manifest.peerDependenciesMeta['@tensorflow/tfjs-core']).toEqual({ optional: true });
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/MIT License[\s\S]*otca contributors/);
    // where the project lives, for the registry's page (issue 18 item 10)
    expect(manifest.repository).toMatchObject({ type: 'git', url: expect.stringMatching(/^git\+https:\/\/.+\.git$/) });
    expect(manifest.homepage).toMatch(/^https:\/\//);
    expect(manifest.bugs).toMatchObject({ url: expect.stringMatching(/^https:\/\//) });
    // TypeScript's node10 resolution of otca/tfjs (no `exports` there) finds its types through tfjs/
    expect(JSON.parse(readFileSync(join(installed, 'tfjs', 'package.json'), 'utf8'))).toEqual({ main: '../dist/cjs/tfjs.js', types: '../dist/cjs/tfjs.d.ts' });
    // every link of the README and docs works on the registry's page: a file the package holds, or absolute
    for (const doc of ['README.md', 'docs/algorithm.md', 'docs/peers.md']) {
      const text = readFileSync(join(installed, doc), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = (m[1] as string).replace(/#.*$/, '');
        if (/^https:\/\//.test(target) || target === '') continue;
        expect(files, `${doc} links to ${m[1]}`).toContain(join(dirname(doc), target));
      }
    }

    // the public types: nothing internal, no pointer to a file the package does not hold
    const dts = readdirSync(join(installed, 'dist', 'cjs')).filter((f) => f.endsWith('.d.ts'));
    const text = dts.map((f) => readFileSync(join(installed, 'dist', 'cjs', f), 'utf8')).join('\n');
    expect(text).not.toMatch(/\b_native\b|\b_wrapResult\b|\b_hostData\b|\b_wrapDevice\b|NativeAddon|ResolvedOptions/);
    expect(text).not.toMatch(/SPEC|STYLE\.md|csrc\/|bench\/|test\//);
    for (const m of text.matchAll(/\b(docs\/[\w-]+\.md)/g)) expect(files, `${m[1]}, cited in the types`).toContain(m[1]);
  });

  it('loads its prebuild through import, require and a worker_threads Worker, and matches the reference', () => {
    for (const file of ['check.mjs', 'check.cjs', 'worker.mjs']) {
      const got = json<Check>(file);
      expect(got.binary, file).toBe(prebuild);
      expect(got.backend, file).toBe('cpu');
      expect(got.worst, file).toBeLessThan(1e-5);
      expect(got.version).toBe('0.1.0');
    }
  });

  it('a checkout is a dependency after its own build (npm link, file:): `npm run build` builds what `exports` names', () => {
    const dev = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(dev.scripts.build).toContain('npm run build:dist');
    expect(dev.scripts['build:dist']).toBe('node scripts/pack-js.mjs'); // which pack.mjs ran above, in the checkout
    const linked = join(work, 'linked');
    mkdirSync(join(linked, 'node_modules'), { recursive: true });
    symlinkSync(root, join(linked, 'node_modules', 'otca'));
    for (const file of ['check.mjs', 'check.cjs', 'one-class.mjs']) writeFileSync(join(linked, file), checks[file] as string);
    for (const file of ['check.mjs', 'check.cjs']) {
      const r = run(process.execPath, [file], barePath, {}, linked);
      expect(r.status, `${file}: ${r.stderr}`).toBe(0);
      const got = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Check;
      expect(got.binary, file).toBe(join(root, 'build', 'Release', 'otca.node'));
      expect(got.worst, file).toBeLessThan(1e-5);
    }
    const r = run(process.execPath, ['one-class.mjs'], barePath, {}, linked);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ sameTensor: true, same: true });
  });

  it('has one Tensor class and one set of errors for import and require', () => {
    expect(json('one-class.mjs')).toEqual({ sameTensor: true, esmResultIsCjsTensor: true, same: true, errorAcross: true });
  });

  it('otca/tfjs takes and returns tf.Tensors from import and require; otca itself never loads tfjs', () => {
    const got = json<{ loadedByMain: boolean; shape: number[]; same: boolean; message: string }>('tfjs.cjs');
    expect(got).toMatchObject({ loadedByMain: false, shape: [4, 3], same: true });
    expect(got.message).toContain("tfjs tensors go to otcaAdvantagesTf from 'otca/tfjs'");
  });

  it('publint and arethetypeswrong report nothing on the tarball', () => {
    // publint at its most demanding level (suggestions included), --strict: any message fails it
    const lint = spawnSync(process.execPath, [join(root, 'node_modules', 'publint', 'src', 'cli.js'), '--level', 'suggestion', '--strict', packed.tarball], {
      cwd: work,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).toContain('All good!');
    // every entry (otca, otca/tfjs, otca/package.json) under node10, node16 from CJS and ESM, and bundler
    const attw = spawnSync(process.execPath, [join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), '--format', 'json', packed.tarball], {
      cwd: work,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const report = JSON.parse(attw.stdout) as {
      analysis: { problems: unknown[]; entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }> };
    };
    expect(report.analysis.problems, attw.stdout.slice(0, 4000)).toEqual([]);
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(['.', './package.json', './tfjs']);
    for (const [entry, { resolutions }] of Object.entries(report.analysis.entrypoints)) {
      for (const kind of ['node10', 'node16-cjs', 'node16-esm', 'bundler']) {
        expect(resolutions[kind]?.resolution?.fileName, `${entry} under ${kind}`).toBeTruthy();
      }
    }
    expect(attw.status, attw.stderr).toBe(0);
  }, 240_000);

  it('`otca` and `otca/tfjs` type-check under every moduleResolution, DeviceUnavailableError with its code', () => {
    const consumer = [
      "import { DeviceUnavailableError, otcaAdvantages, Tensor } from 'otca';",
      "import { otcaAdvantagesTf } from 'otca/tfjs';",
      "const code: 'OTCA_CUDA_UNAVAILABLE' = new DeviceUnavailableError('x').code;",
      "const t: Tensor<'float32'> = Tensor.from(new Float32Array(2), [2]);",
      'export const used = [code, t, otcaAdvantages, otcaAdvantagesTf];',
      '',
    ].join('\n');
    const types = join(work, 'types');
    mkdirSync(types, { recursive: true });
    symlinkSync(join(app, 'node_modules'), join(types, 'node_modules'));
    writeFileSync(join(types, 'package.json'), '{ "name": "types", "private": true }\n');
    writeFileSync(join(types, 'consumer.ts'), consumer);
    writeFileSync(join(types, 'consumer.mts'), consumer);
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const base = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022'];
    const modes: [string, string[], string[]][] = [
      ['tsc --module commonjs (node10)', ['--module', 'commonjs'], ['consumer.ts']],
      ['node10', ['--module', 'commonjs', '--moduleResolution', 'node10'], ['consumer.ts']],
      ['node16', ['--module', 'node16', '--moduleResolution', 'node16'], ['consumer.ts', 'consumer.mts']],
      ['nodenext', ['--module', 'nodenext', '--moduleResolution', 'nodenext'], ['consumer.ts', 'consumer.mts']],
      ['bundler', ['--module', 'esnext', '--moduleResolution', 'bundler'], ['consumer.ts']],
    ];
    for (const [name, flags, files] of modes) {
      const r = spawnSync(process.execPath, [tsc, ...base, ...flags, ...files], { cwd: types, encoding: 'utf8', timeout: 120_000 });
      expect(r.stdout + r.stderr, name).toBe('');
      expect(r.status, name).toBe(0);
    }
  }, 300_000);

  it("an ES-module bundle with otca inside fails with otca's own message; with otca external it runs", () => {
    const esbuild = join(root, 'node_modules', 'esbuild', 'bin', 'esbuild');
    writeFileSync(join(app, 'bundle-me.mjs'), "import { backendInfo } from 'otca';\nconsole.log(JSON.stringify({ binary: backendInfo().binary }));\n");
    const bundle = (out: string, extra: string[]) => {
      const r = spawnSync(esbuild, ['bundle-me.mjs', '--bundle', '--platform=node', '--format=esm', `--outfile=${out}`, '--log-level=warning', ...extra], {
        cwd: app,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, r.stderr).toBe(0);
    };
    bundle(join(work, 'esm-bundle', 'inside.mjs'), []);
    const inside = run(process.execPath, [join(work, 'esm-bundle', 'inside.mjs')], barePath);
    expect(inside.status).not.toBe(0);
    expect(inside.stderr).toContain(
      'Error: otca: cannot load Node\'s built-in modules (Dynamic require of "node:util" is not supported). Was otca bundled?',
    );
    expect(inside.stderr).toContain('esbuild --external:otca');
    // --external:otca leaves `import 'otca'` in the bundle: it loads the installed package
    bundle(join(app, 'outside.mjs'), ['--external:otca']);
    const outside = run(process.execPath, ['outside.mjs'], barePath);
    expect(outside.status, outside.stderr).toBe(0);
    expect(JSON.parse(outside.stdout.trim())).toEqual({ binary: prebuild });
  }, 240_000);

  it('the shipped binaries need no more of the system than the README says: its glibc floor, no libstdc++', () => {
    // The README's floor ("Linux x64 with glibc >= 2.xx"); each shared library the package ships (the
    // addon now; any added later is found by its name) is scanned for the symbol versions it needs.
    const readme = readFileSync(join(installed, 'README.md'), 'utf8');
    const floor = /Linux x64 with glibc >= (\d+)\.(\d+)/.exec(readme);
    expect(floor, 'the README states the glibc floor').not.toBeNull();
    const floorVersion = Number(floor![1]) * 1000 + Number(floor![2]);
    const binaries = packed.files.filter((f) => /\.(node|so(\.\d+)*)$/.test(f) && !f.startsWith('src/'));
    expect(binaries).toContain('prebuilds/linux-x64/otca.node');
    expect(spawnSync('objdump', ['--version']).status, 'objdump (binutils) is needed to scan the binaries').toBe(0);
    for (const file of binaries) {
      const path = join(installed, file);
      const names = [...new Set([...execFileSync('objdump', ['-T', path], { encoding: 'utf8' }).matchAll(/\(([A-Z]+_[\d.]+)\)/g)].map((m) => m[1] as string))];
      expect(names.filter((v) => /^(GLIBCXX|CXXABI)_/.test(v)), `${file} needs the system's libstdc++`).toEqual([]);
      const glibc = names.filter((v) => v.startsWith('GLIBC_')).map((v) => v.slice(6).split('.').map(Number));
      expect(glibc.length, file).toBeGreaterThan(0);
      const newest = Math.max(...glibc.map(([major, minor]) => major! * 1000 + (minor ?? 0)));
      expect(newest, `${file} needs GLIBC_${Math.floor(newest / 1000)}.${newest % 1000}; the README says glibc >= ${floor![1]}.${floor![2]}`).toBeLessThanOrEqual(floorVersion);
      // libgcc_s.so.1 (the unwinder) stays dynamic: GCC_4.2.0 at most, on every glibc system
      for (const v of names.filter((n) => n.startsWith('GCC_'))) expect(Number(v.slice(4).split('.')[0]), v).toBeLessThanOrEqual(4);
      const needed = [...execFileSync('objdump', ['-p', path], { encoding: 'utf8' }).matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1] as string);
      const system = ['ld-linux-x86-64.so.2', 'libc.so.6', 'libdl.so.2', 'libgcc_s.so.1', 'libm.so.6', 'libpthread.so.0', 'librt.so.1'];
      expect(needed.filter((lib) => !system.includes(lib)), `${file}: libraries beyond glibc and libgcc_s`).toEqual([]);
    }
  });

  it('a bundled copy of the JavaScript says to keep otca external', () => {
    const bundled = join(work, 'bundled');
    cpSync(join(installed, 'dist', 'cjs'), bundled, { recursive: true });
    const r = run(process.execPath, ['-e', `require(${JSON.stringify(join(bundled, 'index.js'))}).backendInfo()`], barePath);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`otca: cannot find its package.json above ${join(bundled, 'native.js')}`);
    expect(r.stderr).toContain('keep it external');
  });

  it('without the prebuild, says what it tried and how to fix it; the from-source build then works and never shadows a CUDA prebuild', () => {
    const saved = join(work, 'saved-prebuilds');
    cpSync(join(installed, 'prebuilds'), saved, { recursive: true });
    rmSync(join(installed, 'prebuilds'), { recursive: true, force: true });
    const failed = run(process.execPath, ['check.cjs'], barePath);
    expect(failed.status).not.toBe(0);
    const msg = failed.stderr;
    expect(msg).toContain('otca: no native binary found for linux-x64 (Node ');
    expect(msg).toMatch(/N-API \d+, glibc \d+\.\d+\)/);
    expect(msg).toContain(`Tried:\n- ${join(installed, 'build', 'Release')}: absent`);
    expect(msg).toContain(`- ${join(installed, 'prebuilds', 'linux-x64')}: absent`);
    expect(msg).toContain('Possible solutions:');
    expect(msg).toContain(`\`node ${join(installed, 'src', 'build-from-source.mjs')}\``);

    // The documented build, CPU-only with node-gyp: a compiler on PATH, still offline (headers from Node's install).
    const rebuilt = run(process.execPath, [join(installed, 'src', 'build-from-source.mjs'), '--gyp'], fullPath);
    expect(rebuilt.status, rebuilt.stdout + rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toContain('(CPU only)');
    const built = join(installed, 'build', 'Release', 'otca.node');
    expect(existsSync(built)).toBe(true);
    for (const file of ['check.mjs', 'check.cjs']) {
      const got = json<Check>(file);
      expect(got.binary, file).toBe(built);
      expect(got.cuda, file).toBe(false);
      expect(got.worst, file).toBeLessThan(1e-5);
    }

    // The prebuild back: a CPU-only local build never shadows a prebuild that has CUDA (with a warning);
    // OTCA_PREBUILD pins the package folder's own order (the local build first).
    cpSync(saved, join(installed, 'prebuilds'), { recursive: true });
    const prebuildHasCuda = readFileSync(prebuild).includes('.nv_fatbin');
    const r = run(process.execPath, ['check.cjs'], barePath);
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split('\n').pop() as string) as Check;
    expect(got.binary).toBe(prebuildHasCuda ? prebuild : built);
    if (prebuildHasCuda) expect(r.stderr).toContain('OTCA_LOCAL_BUILD_SKIPPED');
    else expect(r.stderr).toBe('');
    expect(json<Check>('check.cjs', { OTCA_PREBUILD: installed }).binary).toBe(built);
  }, 300_000);

  it.runIf(spawnSync('cmake', ['--version']).status === 0)('the from-source build with CMake (CPU-only here) configures without the repository\'s test sources', () => {
    rmSync(join(installed, 'build'), { recursive: true, force: true });
    const r = run(process.execPath, [join(installed, 'src', 'build-from-source.mjs'), '--cpu'], fullPath);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('(CPU only)');
    const built = join(installed, 'build', 'Release', 'otca.node');
    const got = json<Check>('check.cjs', { OTCA_PREBUILD: installed });
    expect(got).toMatchObject({ binary: built, cuda: false });
    expect(got.worst).toBeLessThan(1e-5);
  }, 300_000);
});
