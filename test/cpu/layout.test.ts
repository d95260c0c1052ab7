// The product stays apart from the lab: csrc/ holds no experiment switch or test hook, includes
// nothing from test/ or bench/, and the addon that ships (build/Release/otca.node) carries no symbol
// of the lab, the simulated device or the kernel emulation.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(h|cc|cpp|cu|cuh)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

// Macros a conditional in csrc may test: the compilers', the CUDA compiler's, the ones the CMake
// build generates (the architecture list) or defines (OTCA_CAPI_BUILD: the C ABI's exports on
// Windows). Macros a file defines for itself are allowed too.
const PLATFORM_MACROS = new Set([
  '__GNUC__', '__clang__', '__x86_64__', '__i386__', '__SSE2__', '__CUDA_ARCH__', '__CUDACC__', '_MSC_VER', '_WIN32', '__linux__', '__GLIBC__',
  '__cplusplus', 'OTCA_HAVE_CUDA_CONFIG', 'OTCA_CUDA_ARCHITECTURES_STRING', 'OTCA_CAPI_BUILD',
]);
// thread_local is banned (a hidden per-thread switch) except where a contract asks for it: the C
// ABI's last error, per thread as its header says.
const THREAD_LOCAL_ALLOWED = new Set(['csrc/capi/capi.cc']);

describe('product and lab apart', () => {
  const files = sources(join(root, 'csrc'));

  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('csrc conditions only on the platform, never on an experiment or test switch', () => {
    const offenders: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const own = new Set([...text.matchAll(/^\s*#\s*define\s+(\w+)/gm)].map((m) => m[1]));
      for (const line of text.split('\n')) {
        if (!/^\s*#\s*(if|ifdef|ifndef|elif)\b/.test(line)) continue;
        const names = line.replace(/^\s*#\s*\w+/, '').replace(/\/\/.*$/, '').match(/[A-Za-z_]\w*/g) ?? [];
        for (const name of names) {
          if (name === 'defined' || PLATFORM_MACROS.has(name) || own.has(name)) continue;
          offenders.push(`${relative(root, f)}: ${line.trim()}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('csrc has no test hook, timeline, variant table or lab include', () => {
    const offenders: string[] = [];
    const banned = [/namespace\s+testing/, /\bthread_local\b/, /timeline/i, /streamOnly/, /kVariants/, /#\s*include\s+"[^"]*(test|bench|lab|sim)[^"]*"/];
    for (const f of files) {
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, n) => {
          const rel = relative(root, f);
          const hit = banned.some((re) => re.test(line) && !(re.source.includes('thread_local') && THREAD_LOCAL_ALLOWED.has(rel)));
          if (hit) offenders.push(`${rel}:${n + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  const addon = join(root, 'build', 'Release', 'otca.node');
  it.skipIf(!existsSync(addon))('the shipped addon carries no lab, simulation or emulation symbol', () => {
    // its symbols (where nm exists) and its raw bytes (strings, and the kernels' names in the fatbin)
    let symbols = readFileSync(addon).toString('latin1');
    try {
      symbols += execFileSync('nm', ['-C', addon], { encoding: 'utf8', maxBuffer: 64 << 20 });
    } catch {
      // no nm: the raw bytes hold the names too
    }
    // (the simulated device's build has "(simulated)" and registry_mutex: this test fails on it)
    for (const needle of ['lab_step', 'LabArgs', 'empty_kernel', 'otca_emulation', '(simulated)', 'registry_mutex', 'set_order_seed']) {
      expect(symbols.includes(needle), needle).toBe(false);
    }
    // and it is the product: its own kernels and backends are in it
    expect(symbols).toMatch(/advantage_step|otca::cpu::advantages/);
  });

  // --wrap=arc4random (otca_link_portable) renames the reference; its definition must be linked in,
  // or a loader that binds every symbol at load (Python's ctypes, LD_BIND_NOW) refuses the library.
  const libotca = join(root, 'build', 'Release', 'libotca.so');
  const hasNm = (() => {
    try {
      execFileSync('nm', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!hasNm || !existsSync(addon))('the shipped libraries leave no wrapped symbol undefined', () => {
    for (const lib of [addon, libotca].filter((p) => existsSync(p))) {
      const undefinedSymbols = execFileSync('nm', ['-D', '--undefined-only', lib], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(undefinedSymbols, lib).not.toMatch(/__wrap_/);
    }
  });
});
