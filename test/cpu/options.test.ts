// The option schema (lib/options.ts) is the one source of the options: the addon's enumeration
// tables and its C++ defaults (csrc/core/options.h) agree with it, the reference takes its defaults
// from it, and the README's option table is generated from it (scripts/options-table.mjs).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createAdvantageStep, DEFAULT_OPTIONS, OPTION_SCHEMA, PRESETS, referenceAdvantages } from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { makeCase } from '../helpers/cases.js';
import { TEST_SEED } from '../helpers/seed.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the option schema', () => {
  it("the addon's enumeration tables are the schema's values, in order", () => {
    const { enums } = native().contract();
    const nativeEnums = Object.entries(OPTION_SCHEMA).filter(([, s]) => s.kind === 'enum' && s.native);
    expect(Object.keys(enums).sort()).toEqual(nativeEnums.map(([n]) => n).sort());
    for (const [name, spec] of nativeEnums) expect(enums[name], name).toEqual([...(spec as { values: readonly string[] }).values]);
  });

  it("the C++ defaults (options.h) are the schema's", () => {
    const { defaults } = native().contract();
    for (const [name, value] of Object.entries(defaults)) expect(value, name).toBe(DEFAULT_OPTIONS[name as keyof typeof DEFAULT_OPTIONS]);
    const nativeNumbersAndEnums = Object.entries(OPTION_SCHEMA).filter(([, s]) => s.native && s.kind !== 'factors').map(([n]) => n);
    expect(Object.keys(defaults).sort()).toEqual(nativeNumbersAndEnums.sort());
  });

  it('a step resolves every option, defaults and presets included', () => {
    const step = createAdvantageStep({ preset: 'flow-grpo', temporal: 'tcd' });
    expect(step.options.objective).toBe(PRESETS['flow-grpo'].objective);
    expect(step.options.temporal).toBe('tcd');
    expect(step.options.minWeight).toBe(OPTION_SCHEMA.minWeight.default);
    expect(step.options.outputs).toEqual(['advantages']);
    step.dispose();
  });

  it('the reference uses the same defaults and presets', () => {
    const c = makeCase({ seed: TEST_SEED, N: 4, G: 2, T: 3, D: 20, K: 2 });
    const byDefault = referenceAdvantages(c.ref);
    const explicit = referenceAdvantages(c.ref, Object.fromEntries(Object.entries(DEFAULT_OPTIONS).filter(([, v]) => v !== undefined)) as never);
    expect(Array.from(byDefault.advantages)).toEqual(Array.from(explicit.advantages));
    const preset = referenceAdvantages(c.ref, { preset: 'dancegrpo' });
    const spelled = referenceAdvantages(c.ref, { ...PRESETS.dancegrpo } as never);
    expect(Array.from(preset.advantages)).toEqual(Array.from(spelled.advantages));
  });

  it("the README's option table is the one generated from the schema", async () => {
    const { generated } = (await import(pathToFileURL(join(root, 'scripts', 'options-table.mjs')).href)) as { generated: () => Promise<string> };
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme, 'run: node scripts/options-table.mjs --write').toContain(await generated());
  });
});
