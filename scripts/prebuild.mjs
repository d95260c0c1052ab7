#!/usr/bin/env node
// Builds prebuilds/<platform>-<arch>/otca.node with prebuildify (N-API: one binary for every Node >= 20,
// stripped). prebuildify's --node-gyp is scripts/node-gyp-shim.mjs, which runs cmake-js (CUDA when
// nvcc is found, CPU-only otherwise) in the staging folder build-prebuild/, so prebuildify's naming,
// stripping and tagging apply unchanged and the developer's build/Release is never moved or cleaned.
//
//   node scripts/prebuild.mjs            build with cmake-js in build-prebuild/build (incremental)
//   node scripts/prebuild.mjs --clean    the same from an empty build folder (`npm run pack:tarball` uses this)
//   node scripts/prebuild.mjs --reuse [path]
//                                        no compile: prebuild the existing addon (default
//                                        build/Release/otca.node, built first if missing or stale by
//                                        scripts/ensure-built.mjs); the package tests use this
//
// Prints the binary's size, whether CUDA is in it and the newest glibc symbol version it needs.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { symbolVersions, versionText } from './symbol-versions.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const argv = process.argv.slice(2);
const reuseAt = argv.indexOf('--reuse');
const clean = argv.includes('--clean');

const stage = join(root, 'build-prebuild');
const shim = join(root, 'scripts', 'node-gyp-shim.mjs');
const target = `${process.platform}-${process.arch}`;
const dest = join(root, 'prebuilds', target, 'otca.node');

const env = { ...process.env };
delete env.OTCA_PREBUILD_REUSE;
if (reuseAt >= 0) {
  const given = argv[reuseAt + 1] && !argv[reuseAt + 1].startsWith('--') ? argv[reuseAt + 1] : undefined;
  if (given === undefined) {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'ensure-built.mjs')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  env.OTCA_PREBUILD_REUSE = resolve(root, given ?? join('build', 'Release', 'otca.node'));
}
if (clean) env.OTCA_PREBUILD_CLEAN = '1';

// prebuildify reads the package name (the file name otca.node) from its cwd's package.json.
mkdirSync(stage, { recursive: true });
writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ name: 'otca', private: true }, null, 2)}\n`);
rmSync(join(root, 'prebuilds', target), { recursive: true, force: true });
chmodSync(shim, 0o755); // prebuildify spawns it directly (a checkout without the executable bit)

const prebuildify = join(root, 'node_modules', 'prebuildify', 'bin.js');
const r = spawnSync(
  process.execPath,
  [prebuildify, '--napi', '--strip', '--name', 'otca', '--node-gyp', shim, '--cwd', stage, '--out', root],
  { cwd: root, stdio: 'inherit', env },
);
if (r.status !== 0 || !existsSync(dest)) {
  console.error(`[prebuild] prebuildify failed: no ${dest}`);
  process.exit(r.status || 1);
}

const bytes = statSync(dest).size;
const binary = readFileSync(dest);
const cuda = binary.includes('cudaGetDeviceCount') || binary.includes('__nv_fatbin') || binary.includes('.nv_fatbin');
const { glibc, libstdcxx } = symbolVersions(dest);
console.log(
  `[prebuild] ${join('prebuilds', target, 'otca.node')}: ${(bytes / 2 ** 20).toFixed(2)} MiB (${bytes} bytes), ` +
    `${cuda ? 'CUDA + CPU' : 'CPU-only'}, needs glibc >= ${versionText(glibc)}` +
    `${libstdcxx ? ', and the system libstdc++ (GLIBCXX symbols)' : ', libstdc++ linked in'}` +
    `${reuseAt >= 0 ? ` (reused ${env.OTCA_PREBUILD_REUSE})` : ''}`,
);
