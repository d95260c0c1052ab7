// `npm run docs`: the API reference builds from the TSDoc with no warning (typedoc.json treats
// warnings as errors and requires every exported function, class, type, option and result field
// to be documented; the option schema's members take their comments from OtcaOptions and
// OptionSpec through scripts/typedoc-plugin.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
