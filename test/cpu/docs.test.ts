// `npm run docs`: the API reference builds from the TSDoc with no warning (typedoc.json treats
// warnings as errors and requires every exported function, class, type, option and result field
// to be documented; the option schema's members take their comments from OtcaOptions and
// OptionSpec through scripts/typedoc-plugin.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('the API reference builds without a warning, every public name documented', () => {
  const out = mkdtempSync(join(tmpdir(), 'otca-docs-'));
  try {
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/warning|error/i);
    for (const page of ['index.html', 'functions/index.otcaAdvantages.html', 'functions/tfjs.otcaAdvantagesTf.html', 'interfaces/index.OtcaOptions.html']) {
      expect(existsSync(join(out, page)), page).toBe(true);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);

// Issue 18 item 10: the project's text points only at what the repository holds, and cites the
// paper's equations one way.
const tracked = spawnSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).stdout.trim().split('\n');
const textFiles = tracked.filter((f) => /\.(md|ts|mjs|js|py|sh|cmake|txt|cc|cpp|h|cu|cuh|gyp|json)$/.test(f) && f !== 'package-lock.json');
const read = (f: string) => readFileSync(join(root, f), 'utf8');

it.runIf(tracked.length > 1)('no text names a file or folder of the repository that it does not hold', () => {
  const held = new Set(tracked);
  for (const f of tracked) for (let d = dirname(f); d !== '.'; d = dirname(d)) held.add(d);
  const names = new Set(tracked.map((f) => basename(f)));
  // Exceptions, each for a reason: docs/api is generated (`npm run docs`), never committed;
  // bench/NOTES.md and bench/RESULTS.md are dated lab records that name files as they were then;
  // docs/peers.md and test/helpers/peers.ts cite the peer trainers' own files (Flow-GRPO's training
  // script under its scripts/); LICENSE.md is node-addon-api's, copied by scripts/pack.mjs.
  const dated = new Set(['bench/NOTES.md', 'bench/RESULTS.md']);
  const peers = new Set(['docs/peers.md', 'test/helpers/peers.ts']);
  const missing: string[] = [];
  for (const f of textFiles) {
    if (dated.has(f)) continue;
    const text = read(f);
    for (const m of text.matchAll(/(?<![\w./-])((?:csrc|lib|test|bench|docs|examples|scripts|cmake)\/[\w./-]*[\w/])/g)) {
      const p = (m[1] as string).replace(/\/$/, '');
      if (p === 'docs/api' || p.startsWith('docs/api/') || (peers.has(f) && p.startsWith('scripts/'))) continue;
      if (!held.has(p)) missing.push(`${f}: ${p}`);
    }
    for (const m of text.matchAll(/(?<![\w./-])([A-Z][\w-]*\.md)\b/g)) {
      if (!names.has(m[1] as string) && m[1] !== 'LICENSE.md') missing.push(`${f}: ${m[1]}`);
    }
  }
  expect(missing).toEqual([]);
});

it.runIf(tracked.length > 1)('the trajectory score q is cited as eq. 12 everywhere (the paper defines q and e in eq. 12)', () => {
  const cited: string[] = [];
  for (const f of textFiles) {
    const text = read(f);
    for (const re of [/trajectory score[^.;\n(]{0,40}\(eqs?\. (\d+)/gi, /\(eq\. (\d+), trajectory score\)/gi, /\bq\b,? eq\. (\d+)/g]) {
      for (const m of text.matchAll(re)) cited.push(`${f}: ${m[0]} -> ${m[1]}`);
    }
  }
  expect(cited.length).toBeGreaterThanOrEqual(3);
  expect(cited.filter((c) => !c.endsWith('-> 12'))).toEqual([]);
});
