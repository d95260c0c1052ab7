// A table of malformed calls: each fails with a typed error that names the argument, the
// expectation and what came; afterwards the process is alive and a valid call still works.
import { describe, expect, it } from 'vitest';
import {
  type AdvantageStep,
  combineCredit,
  createAdvantageStep,
  creditDiagnostics,
  encodeBFloat16,
  encodeFloat16,
  objectiveCredit,
  otcaAdvantages,
  otcaAdvantagesAsync,
  Tensor,
  trajectoryCredit,
} from '../../lib/index.js';
import { native } from '../../lib/native.js';
import { rewards as randomRewards, toStates, trajectories } from '../helpers/random.js';

const N = 4, G = 2, T = 3, D = 8, K = 2;
const z = () => trajectories(1, N, T, D);
const r = () => randomRewards(2, N, K) as Float32Array;
const lat = () => Tensor.from(z(), [N, T + 1, D]);
const rew = () => Tensor.from(r(), [N, K]);
const states = () => toStates(z(), N, T, D).map((s) => Tensor.from(s, [N, D]));
const ok = () => ({ rewards: rew(), latents: lat(), groupSize: G });
const call = (input: unknown, options?: unknown) => () => otcaAdvantages(input as never, options as never);

type Row = [name: string, fn: () => unknown, cls: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, msg: RegExp];

const detached = () => {
  const data = z();
  const t = Tensor.from(data, [N, T + 1, D]);
  structuredClone(data.buffer, { transfer: [data.buffer as ArrayBuffer] });
  return t;
};

const table: Row[] = [
  // ---- the input object and its members
  ['input not an object', call(42), TypeError, /Expected .*object.* for inputs but received 42/],
  ['input null', call(null), TypeError, /for inputs but received null/],
  ['rewards missing', call({ latents: lat(), groupSize: G }), TypeError, /for rewards but received undefined/],
  ['rewards a plain array', call({ ...ok(), rewards: [1, 2, 3] }), TypeError, /Expected .*Tensor.* for rewards but received Array\(3\)/],
  ['latents missing', call({ rewards: rew(), groupSize: G }), TypeError, /for latents but received undefined/],
  ['latents a string', call({ ...ok(), latents: 'z' }), TypeError, /for latents but received "z"/],
  ['groupSize missing', call({ rewards: rew(), latents: lat() }), TypeError, /^Expected exactly one of groupSize and groupIds for inputs but received neither$/],
  ['groupSize and groupIds both', call({ ...ok(), groupIds: [0, 0, 1, 1] }), TypeError, /^Expected exactly one of groupSize and groupIds for inputs but received both$/],
  ['groupIds of the wrong length', call({ rewards: rew(), latents: lat(), groupIds: [0, 1, 0] }), RangeError, /^Expected length N \(4\) for groupIds but received length 3$/],
  ['groupIds negative', call({ rewards: rew(), latents: lat(), groupIds: [0, -1, 0, 1] }), RangeError, /^Expected integers in \[0, 2\^31 - 1\] for groupIds but received -1 at sample 1$/],
  ['groupIds not integers', call({ rewards: rew(), latents: lat(), groupIds: [0, 1.5, 0, 1] }), RangeError, /for groupIds but received 1.5 at sample 1$/],
  ['groupIds of strings', call({ rewards: rew(), latents: lat(), groupIds: ['a', 'a', 'b', 'b'] }), TypeError, /^Expected integers for groupIds but received "a" at sample 0$/],
  ['groupIds a Float32Array', call({ rewards: rew(), latents: lat(), groupIds: new Float32Array(4) }), TypeError, /^Expected Int32Array or an array of integers for groupIds but received Float32Array\(4\)$/],
  ['groupSize 0', call({ ...ok(), groupSize: 0 }), RangeError, /Expected integer >= 1 for groupSize but received 0/],
  ['groupSize 1.5', call({ ...ok(), groupSize: 1.5 }), RangeError, /Expected integer >= 1 for groupSize but received 1.5/],
  ['groupSize a string', call({ ...ok(), groupSize: '2' }), TypeError, /for groupSize but received "2"/],
  ['N % G != 0', call({ ...ok(), groupSize: 3 }), RangeError, /Expected .*divi.* for groupSize but received 3/],
  // ---- shapes and ranks
  ['rewards rank 1', call({ ...ok(), rewards: Tensor.from(new Float32Array(N), [N]) }), RangeError, /Expected .*\[N, K\].* for rewards but received .*\[4\]/],
  ['per-step rewards [N, T, K] whose T is not the latents\' T', call({ ...ok(), rewards: Tensor.from(new Float32Array(N * K), [N, K, 1]) }), RangeError, /^Expected 3 steps \(T as in latents\) for rewards but received shape \[4, 2, 1\]$/],
  ['rewards rank 4', call({ ...ok(), rewards: Tensor.from(new Float32Array(N * K), [N, K, 1, 1]) }), RangeError, /Expected rank 2 \[N, K\] or 3 \[N, T, K\] .*for rewards but received .*\[4, 2, 1, 1\]/],
  ['K = 0', call({ ...ok(), rewards: Tensor.from(new Float32Array(0), [N, 0]) }), RangeError, /for rewards but received .*\[4, 0\]/],
  ['latents rank 2', call({ ...ok(), latents: Tensor.from(z(), [N, (T + 1) * D]) }), RangeError, /Expected .*\[N, T ?\+ ?1, D\].* for latents but received .*\[4, 32\]/],
  ['T + 1 = 1 (T < 1), stacked', call({ ...ok(), latents: Tensor.from(new Float32Array(N * D), [N, 1, D]) }), RangeError, /for latents but received .*\[4, 1, 8\]/],
  ['T < 1: a list of one state', call({ ...ok(), latents: [Tensor.from(new Float32Array(N * D), [N, D])] }), RangeError, /Expected .*(2|T ?\+ ?1).* for latents but received .*1/],
  ['empty latents list', call({ ...ok(), latents: [] }), RangeError, /for latents but received .*0/],
  ['D = 0', call({ ...ok(), latents: Tensor.from(new Float32Array(0), [N, T + 1, 0]) }), RangeError, /for latents but received .*\[4, 4, 0\]/],
  ['latents N differs from rewards N', call({ ...ok(), latents: Tensor.from(new Float32Array(2 * (T + 1) * D), [2, T + 1, D]) }), RangeError, /Expected .*(4|2).* for (latents|rewards) but received .*(\[2, 4, 8\]|\[4, 2\])/],
  ['list states of different shapes', call({ ...ok(), latents: [...states().slice(0, T), Tensor.from(new Float32Array(N * (D + 1)), [N, D + 1])] }), RangeError, /for latents\[3\] but received .*\[4, 9\]/],
  ['a list state of rank 3', call({ ...ok(), latents: [...states().slice(0, T), Tensor.from(new Float32Array(N * D), [N, D, 1])] }), RangeError, /for latents\[3\] but received .*\[4, 8, 1\]/],
  ['a list entry not a tensor', call({ ...ok(), latents: [...states().slice(0, T), new Float32Array(N * D)] }), TypeError, /for latents\[3\] but received Float32Array/],
  ['mixed dtypes in a latents list', call({ ...ok(), latents: [...states().slice(0, T), Tensor.from(new Uint16Array(N * D), [N, D], 'bfloat16')] }), TypeError, /for latents\[3\] but received .*bfloat16/],
  // ---- dtypes and devices
  ['float64 latents', call({ ...ok(), latents: Tensor.from(new Float64Array(N * (T + 1) * D), [N, T + 1, D]) }), TypeError, /Expected .*float32.*float16.*bfloat16.* for latents but received .*float64/],
  ['float16 rewards', call({ ...ok(), rewards: Tensor.from(new Uint16Array(N * K), [N, K], 'float16') }), TypeError, /Expected .*float32.*float64.* for rewards but received .*float16/],
  ['unknown dtype', () => Tensor.from(new Float32Array(4), [4], 'int8' as never), RangeError, /Expected one of 'float32', 'float64', 'float16', 'bfloat16' for dtype but received "int8"/],
  ['Uint16Array without dtype', () => Tensor.from(new Uint16Array(4) as never, [4]), TypeError, /for dtype but received undefined/],
  ['shape not matching data', () => Tensor.from(new Float32Array(5), [2, 3]), RangeError, /for shape but received \[2, 3\] \(size 6\)/],
  ['unknown device', call(ok(), { device: 'tpu' }), RangeError, /Expected .*'cpu'.* for (options\.)?device but received "tpu"/],
  ['cuda on a CPU-only build', call(ok(), { device: 'cuda:0' }), Error, /CUDA/],
  // ---- detached / disposed buffers
  ['detached latents buffer', call({ ...ok(), latents: detached() }), TypeError, /Expected a live \(not detached\) buffer for latents but received a detached ArrayBuffer/],
  ['detached rewards buffer', () => {
    const data = r();
    const t = Tensor.from(data, [N, K]);
    structuredClone(data.buffer, { transfer: [data.buffer as ArrayBuffer] });
    return otcaAdvantages({ ...ok(), rewards: t });
  }, TypeError, /Expected a live \(not detached\) buffer for rewards but received a detached ArrayBuffer/],
  ['disposed latents tensor', () => {
    const t = lat();
    t.dispose();
    return otcaAdvantages({ ...ok(), latents: t });
  }, Error, /for latents but received .*dispos/],
  ['disposed list state', () => {
    const s = states();
    s[2]!.dispose();
    return otcaAdvantages({ ...ok(), latents: s });
  }, Error, /for latents\[2\] but received .*dispos/],
  // ---- options
  ['options not an object', call(ok(), 5), TypeError, /for options but received 5/],
  ['unknown option name', call(ok(), { minWieght: 0.3 }), RangeError, /Expected an option name .* for options but received "minWieght"/],
  ['minWeight > 1', call(ok(), { minWeight: 1.5 }), RangeError, /Expected .*\[0, 1\].* for (options\.)?minWeight but received 1.5/],
  ['minWeight < 0', call(ok(), { minWeight: -0.1 }), RangeError, /for (options\.)?minWeight but received -0.1/],
  ['minWeight NaN', call(ok(), { minWeight: NaN }), RangeError, /for (options\.)?minWeight but received NaN/],
  ['minWeight a string', call(ok(), { minWeight: '0.5' }), TypeError, /for (options\.)?minWeight but received "0.5"/],
  ['temporal unknown', call(ok(), { temporal: 'linear' }), RangeError, /Expected .*'tcd'.*'uniform'.* for (options\.)?temporal but received "linear"/],
  ['objective unknown', call(ok(), { objective: 'pareto' }), RangeError, /Expected .*'moca'.* for (options\.)?objective but received "pareto"/],
  ['weightScale unknown', call(ok(), { weightScale: 'max' }), RangeError, /for (options\.)?weightScale but received "max"/],
  ['stdScope unknown', call(ok(), { stdScope: 'global' }), RangeError, /for (options\.)?stdScope but received "global"/],
  ['explorationSignal unknown', call(ok(), { explorationSignal: 'relative' }), RangeError, /for (options\.)?explorationSignal but received "relative"/],
  ['stdCorrection 2', call(ok(), { stdCorrection: 2 }), RangeError, /for (options\.)?stdCorrection but received 2/],
  ['advClip 0', call(ok(), { advClip: 0 }), RangeError, /for (options\.)?advClip but received 0/],
  ['advClip negative', call(ok(), { advClip: -1 }), RangeError, /for (options\.)?advClip but received -1/],
  ['epsAdv negative', call(ok(), { epsAdv: -1e-8 }), RangeError, /for (options\.)?epsAdv but received -1e-8/],
  ['epsTcd 0', call(ok(), { epsTcd: 0 }), RangeError, /for (options\.)?epsTcd but received 0/],
  ['epsMoca 0', call(ok(), { epsMoca: 0 }), RangeError, /for (options\.)?epsMoca but received 0/],
  ['epsSolver Infinity', call(ok(), { epsSolver: Infinity }), RangeError, /for (options\.)?epsSolver but received Infinity/],
  ['objectiveWeights wrong length', call(ok(), { objective: 'weighted-advantage', objectiveWeights: [1, 2, 3] }), RangeError, /Expected .*2.* for (options\.)?objectiveWeights but received .*3/],
  ['objectiveWeights a number', call(ok(), { objectiveWeights: 2 }), TypeError, /for (options\.)?objectiveWeights but received 2/],
  ['objectiveScale with NaN', call(ok(), { objectiveScale: [1, NaN] }), RangeError, /for (options\.)?objectiveScale.* but received NaN/],
  ['threads negative', call(ok(), { threads: -1 }), RangeError, /for (options\.)?threads but received -1/],
  ['threads fractional', call(ok(), { threads: 1.5 }), RangeError, /for (options\.)?threads but received 1.5/],
  ['outputs unknown name', call(ok(), { outputs: ['advantages', 'gradients'] }), RangeError, /for (options\.)?outputs.* but received "gradients"/],
  ['outputs wrong type', call(ok(), { outputs: 3 }), TypeError, /for (options\.)?outputs but received 3/],
  // ---- non-finite values
  ['NaN reward names sample and objective', () => {
    const rr = r();
    rr[3 * K + 1] = NaN;
    return otcaAdvantages({ ...ok(), rewards: Tensor.from(rr, [N, K]) });
  }, RangeError, /Expected finite values for rewards but received NaN at sample 3, objective 1/],
  ['Infinity reward (float64)', () => {
    const rr = Float64Array.from(r());
    rr[1] = -Infinity;
    return otcaAdvantages({ ...ok(), rewards: Tensor.from(rr, [N, K]) });
  }, RangeError, /Expected finite values for rewards but received -Infinity at sample 0, objective 1/],
  ['Infinity latent names sample and state', () => {
    const zz = z();
    zz[(2 * (T + 1) + 1) * D + 5] = Infinity;
    zz[(2 * (T + 1) + 3) * D + 0] = NaN; // a later state of the same sample: the first one is named
    zz[(3 * (T + 1) + 0) * D + 0] = NaN; // a later sample
    return otcaAdvantages({ ...ok(), latents: Tensor.from(zz, [N, T + 1, D]) });
  }, RangeError, /Expected finite values for latents but received Infinity at sample 2, state 1/],
  ['NaN latent in a list state', () => {
    const s = toStates(z(), N, T, D);
    s[T]![1 * D + 3] = NaN;
    return otcaAdvantages({ ...ok(), latents: s.map((x) => Tensor.from(x, [N, D])) });
  }, RangeError, /Expected finite values for latents but received NaN at sample 1, state 3/],
  ['bfloat16 Infinity latent', () => {
    const bits = new Uint16Array(N * (T + 1) * D).fill(0x3f80);
    bits[(0 * (T + 1) + 2) * D + 1] = 0x7f80;
    return otcaAdvantages({ ...ok(), latents: Tensor.from(bits, [N, T + 1, D], 'bfloat16') });
  }, RangeError, /Expected finite values for latents but received Infinity at sample 0, state 2/],
  ['rewards past 1e100', () => otcaAdvantages({ ...ok(), rewards: Tensor.from(new Float64Array(N * K).fill(-2e100), [N, K]) }), RangeError, /^Expected \|r\| <= 1e\+100 for rewards but received -2e\+100 at sample 0, objective 0$/],
  ['objectiveScale past 1e9', () => otcaAdvantages(ok(), { objectiveScale: new Array(K).fill(2e9) }), RangeError, /for objectiveScale\[0\] but received 2000000000$/],
  ['a hole in objectiveWeights', () => otcaAdvantages(ok(), { objectiveWeights: new Array(K) }), TypeError, /for objectiveWeights\[0\] but received undefined$/],
  // ---- the phases
  ['trajectoryCredit without latents', () => trajectoryCredit({} as never), TypeError, /for latents but received undefined/],
  ['objectiveCredit q of the wrong length', () => objectiveCredit({ rewards: rew(), trajectoryScore: Tensor.from(new Float32Array(3), [3]), groupSize: G }), RangeError, /for trajectoryScore but received .*\[3\]/],
  ['objectiveCredit q float64', () => objectiveCredit({ rewards: rew(), trajectoryScore: Tensor.from(new Float64Array(N), [N]) as never, groupSize: G }), TypeError, /Expected .*float32.* for trajectoryScore but received .*float64/],
  ['objectiveCredit NaN q', () => objectiveCredit({ rewards: rew(), trajectoryScore: Tensor.from(new Float32Array([0, NaN, 0, 0]), [N]), groupSize: G }), RangeError, /Expected finite values for trajectoryScore but received NaN at sample 1/],
  ['objectiveCredit groupSize not dividing N', () => objectiveCredit({ rewards: rew(), trajectoryScore: Tensor.from(new Float32Array(N), [N]), groupSize: 3 }), RangeError, /for groupSize but received 3/],
  // ---- helpers and arguments that are no Tensor though made from its prototype
  ['encodeBFloat16 with a fractional length', () => encodeBFloat16({ length: 2.5 } as never), RangeError, /^Expected an integer length >= 0 for encodeBFloat16's values.length but received 2.5$/],
  ['encodeFloat16 with a negative length', () => encodeFloat16({ length: -1 } as never), RangeError, /^Expected an integer length >= 0 for encodeFloat16's values.length but received -1$/],
  ['encodeFloat16 into a short out', () => encodeFloat16([1, 2, 3], new Uint16Array(2)), TypeError, /^Expected a Uint16Array of length >= 3 \(values.length\) for encodeFloat16's out but received length 2$/],
  ['encodeBFloat16 into a Float32Array', () => encodeBFloat16([1], new Float32Array(1) as never), TypeError, /^Expected a Uint16Array for encodeBFloat16's out but received Float32Array\(1\)$/],
  ['combineCredit(null, o)', () => combineCredit(null as never, { fused: Tensor.from(new Float32Array(N), [N]) }), TypeError, /^Expected phase 1's result \{ stepWeights \} for trajectory but received null$/],
  ['combineCredit(t, 3)', () => combineCredit({ stepWeights: Tensor.from(new Float32Array(N * T), [N, T]) }, 3 as never), TypeError, /^Expected phase 2's result \{ fused \} for objective but received 3$/],
  ['combineCredit with a forged fused', () => combineCredit({ stepWeights: Tensor.from(new Float32Array(N * T), [N, T]) }, { fused: forged() }), TypeError, /^Expected float32 Tensor \[N\] or \[N, T\] \(phase 2's fused\) for objective.fused but received an object made from Tensor.prototype that is no Tensor/],
  ['rewards forged from Tensor.prototype', call({ ...ok(), rewards: forged() }), TypeError, /^Expected Tensor \[N, K\] \(float32 or float64\) for rewards but received an object made from Tensor.prototype that is no Tensor/],
  ['latents forged from Tensor.prototype', call({ ...ok(), latents: forged() }), TypeError, /for latents but received an object made from Tensor.prototype that is no Tensor/],
  ['a latent state forged from Tensor.prototype', call({ ...ok(), latents: [...states().slice(0, 2), forged()] }), TypeError, /^Expected Tensor \[N, D\] for latents\[2\] but received an object made from Tensor.prototype/],
  ['trajectoryScore forged from Tensor.prototype', () => objectiveCredit({ rewards: rew(), trajectoryScore: forged(), groupSize: G }), TypeError, /for trajectoryScore but received an object made from Tensor.prototype/],
  ['an output target forged from Tensor.prototype', () => createAdvantageStep().run(ok(), { advantages: forged() }), TypeError, /^Expected float32 Tensor \[4, 3\] for outputs.advantages but received an object made from Tensor.prototype/],
  ['Tensor#data of a forged Tensor', () => forged().data, TypeError, /^Expected a Tensor \(made by Tensor.from, .*\) for this of Tensor#data but received an object made from Tensor.prototype that is no Tensor/],
  ['Tensor#dispose of a forged Tensor', () => forged().dispose(), TypeError, /for this of Tensor#dispose but received an object made from Tensor.prototype/],
  ['Tensor#to of a forged Tensor', () => forged().to('cpu'), TypeError, /for this of Tensor#to but received an object made from Tensor.prototype/],
  ['Tensor#rank of a forged Tensor', () => forged().rank, TypeError, /for this of Tensor#rank but received an object made from Tensor.prototype/],
  ['Tensor#disposed of a forged Tensor', () => forged().disposed, TypeError, /for this of Tensor#disposed but received an object made from Tensor.prototype/],
  ['String() of a forged Tensor', () => { throw new TypeError(String(forged())); }, TypeError, /^an object made from Tensor.prototype that is no Tensor/],
  ['creditDiagnostics with an object without data', () => creditDiagnostics({ shape: [2, 2] } as never, [[1, 2]]), TypeError, /for deltaS but received an object without data$/],
  ['creditDiagnostics with an object without shape', () => creditDiagnostics([[1, 2]], { data: [1, 2] } as never), TypeError, /for deltaR but received an object without shape$/],
  ['creditDiagnostics with an empty object', () => creditDiagnostics({} as never, [[1, 2]]), TypeError, /for deltaS but received an object without data and shape$/],
];

/** An object made from Tensor.prototype: it has the methods but none of a Tensor's state. */
function forged(): Tensor<'float32'> {
  return Object.create(Tensor.prototype) as Tensor<'float32'>;
}

describe('bad input', () => {
  it(`has at least 30 cases (${table.length})`, () => expect(table.length).toBeGreaterThanOrEqual(30));

  for (const [name, fn, cls, msg] of table)
    it(name, () => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err, 'expected a throw').toBeInstanceOf(cls);
      expect((err as Error).message).toMatch(msg);
    });

  it('the async API rejects the same way (no crash, a rejected promise)', async () => {
    await expect(otcaAdvantagesAsync({ ...ok(), groupSize: 0 })).rejects.toThrow(/Expected integer >= 1 for groupSize but received 0/);
    const zz = z();
    zz[5] = NaN;
    await expect(otcaAdvantagesAsync({ ...ok(), latents: Tensor.from(zz, [N, T + 1, D]) })).rejects.toThrow(
      /Expected finite values for latents but received NaN at sample 0, state 0/,
    );
  });

  it('no message is a V8 message about private members', () => {
    for (const [name, fn] of table) {
      try {
        fn();
      } catch (e) {
        expect((e as Error).message, name).not.toMatch(/private member|Cannot read properties/);
      }
    }
  });

  it('a dispose() reached from inside a call (an input or output getter) leaves the step disposed, holding no plan', async () => {
    // the native plans made and released meanwhile, counted by a subclass put in the addon's place
    const n = native() as unknown as { NativePlan: new (...args: never[]) => { dispose(): void } };
    const Plan = n.NativePlan;
    const count = { made: 0, released: 0 };
    class CountingPlan extends Plan {
      constructor(...args: never[]) {
        super(...args);
        count.made++;
      }
      override dispose(): void {
        count.released++;
        super.dispose();
      }
    }
    const disposedMessage = 'This AdvantageStep was disposed; create another with createAdvantageStep()';
    const ways: [string, (step: AdvantageStep<'advantages'>) => unknown][] = [
      ['run, a latents getter', (step) => step.run({ rewards: rew(), get latents() { step.dispose(); return lat(); }, groupSize: G })],
      ['runAsync, a latents getter', (step) => step.runAsync({ rewards: rew(), get latents() { step.dispose(); return lat(); }, groupSize: G })],
      ['run, an output getter', (step) => step.run(ok(), { get advantages() { step.dispose(); return Tensor.from(new Float32Array(N * T), [N, T]); } })],
      ['trajectory, a latents getter', (step) => step.trajectory({ get latents() { step.dispose(); return lat(); } })],
    ];
    for (const [name, call] of ways) {
      count.made = count.released = 0;
      const step = createAdvantageStep({ device: 'cpu' });
      n.NativePlan = CountingPlan;
      let err: unknown;
      try {
        await call(step);
      } catch (e) {
        err = e;
      } finally {
        n.NativePlan = Plan;
      }
      expect(step.disposed, name).toBe(true);
      expect((err as Error | undefined)?.message, name).toBe(disposedMessage);
      // every plan made during the call was released: the disposed step holds none
      expect(count.made - count.released, name).toBe(0);
      expect(() => step.run(ok()), name).toThrow(disposedMessage);
      await expect(step.runAsync(ok()), name).rejects.toThrow(disposedMessage);
    }
  });

  it('after all of them the process is alive and a valid call works', () => {
    const out = otcaAdvantages(ok(), { outputs: 'all' });
    expect(out.advantages.shape).toEqual([N, T]);
    for (const v of out.advantages.data) expect(Number.isFinite(v)).toBe(true);
  });
});
