#!/usr/bin/env node
// The package's "install" script, and `npm run build:gyp`. It never builds during a normal install
// (no surprise compiler run; pnpm and others that skip install scripts lose nothing, the prebuild is
// all that loading needs). It builds the CPU-only addon from binding.gyp with node-gyp when:
//  - `npm rebuild otca` runs it (npm_command "rebuild") and no binary loads (a working prebuild is
//    kept: a from-source build/Release would shadow it and drop CUDA), or
//  - the build is asked for: `--build` (npm run build:gyp), `npm rebuild otca --build-from-source`
//    / `npm install --build-from-source`, or OTCA_BUILD_FROM_SOURCE=1.
// In a git checkout it does nothing unless asked (`npm run build` / scripts/ensure-built.mjs build there).
// The build needs a C++17 compiler, python3 and make, and Node's headers (npm's `nodedir` setting,
// /usr/include/node, or node-gyp's download): no cmake, no CUDA toolkit.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(root, 'package.json'));
const command = process.env.npm_command;
const asked =
  process.argv.includes('--build') ||
  process.env.npm_config_build_from_source === 'true' ||
  process.env.OTCA_BUILD_FROM_SOURCE === '1';
const checkout = existsSync(join(root, 'lib', 'native.ts'));

function tryLoad() {
  try {
    const path = require('node-gyp-build').resolve(root);
    require(path);
    return { ok: true, path };
  } catch (error) {
    return { ok: false, error };
  }
}

if (!asked) {
  if (checkout) process.exit(0);
  const loaded = tryLoad();
  if (loaded.ok) process.exit(0);
  if (command !== 'rebuild') {
    console.warn(
      `otca: no native binary loads here (${loaded.error.message.split('\n')[0]}); ` +
        'build one from source with `npm rebuild otca` (CPU-only; needs a C++17 compiler, python3 and make).',
    );
    process.exit(0);
  }
}

// node-gyp: on PATH inside npm scripts (npm adds its bundled copy), else npm's own copy, else a local one.
function nodeGyp() {
  const candidates = [];
  if (process.env.npm_execpath) {
    candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  const found = candidates.find((p) => existsSync(p));
  return found ? [process.execPath, found] : ['node-gyp'];
}

// binding.gyp asks node for node-addon-api's include dir; an installed otca has the copy in dist/vendor.
const env = { ...process.env };
try {
  require.resolve('node-addon-api');
} catch {
  env.NODE_PATH = [join(root, 'dist', 'vendor'), env.NODE_PATH].filter(Boolean).join(delimiter);
}
const args = ['rebuild'];
if (!env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h') && process.execPath.startsWith('/usr/')) {
  args.push('--nodedir=/usr'); // the distribution's headers: no download
}
const [cmd, ...pre] = nodeGyp();
console.log(`otca: building the CPU-only addon from binding.gyp: node-gyp ${args.join(' ')}`);
const r = spawnSync(cmd, [...pre, ...args], { cwd: root, env, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('otca: the from-source build failed (see above). It needs a C++17 compiler, python3 and make.');
  process.exit(r.status || 1);
}
const loaded = tryLoad();
if (!loaded.ok) {
  console.error(`otca: built, but the binary does not load: ${loaded.error.message}`);
  process.exit(1);
}
console.log(`otca: built ${loaded.path}`);
