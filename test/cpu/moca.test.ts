// Hand-made MOCA cases through the native API (objectiveCredit with a chosen trajectoryScore).
import { describe, expect, it } from 'vitest';
import { objectiveCredit, Tensor } from '../../lib/index.js';

const run = (rewards: number[], q: number[], G: number, K: number, options: Record<string, unknown> = {}) => {
  const N = q.length;
  const out = objectiveCredit(
    { rewards: Tensor.from(Float64Array.from(rewards), [N, K], 'float64'), trajectoryScore: Tensor.from(Float32Array.from(q), [N]), groupSize: G },
    options as never,
  );
  const get = (f: string) => Array.from((out as unknown as Record<string, { data: Float32Array }>)[f]!.data);
  return { A: get('objectiveAdvantages'), e: get('exploration'), lam: get('lambda'), c: get('coefficients'), f: get('fused') };
};

const close = (a: number[], b: number[], digits = 6) => {
  expect(a.length).toBe(b.length);
  b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, digits));
};

describe('MOCA through the native API', () => {
  // K = 2, G = 3, rewards [[1, 3], [2, 0], [3, 0]], q = [.2, .1, .3] (float32).
  // Column 0 -> A = [-1, 0, 1]; column 1 (mean 1, std sqrt 3) -> A = [1.1547005, -.5773503, -.5773503].
  // e = |q| / (.1 + 1e-6) = [1.99998, .99999, 2.99997] (q in float32 moves these by ~1e-8).
  // Sample 0: s = .1547 > 0, lam = (1 - 6.5e-6) tanh(1.99998) = .9640199, zhat = .4820100,
  //   interpolated between -1 and 1.1547005: c = [.3121968, .6878032], f = zhat.
  // Sample 1: s < 0 -> lam = 0 -> zhat = clip(0, -.577, 0) = 0 = A0 -> one-hot [1, 0], f = 0.
  // Sample 2: lam = .9950521, zhat = .4975261 between -.5773503 and 1: c = [.6814443, .3185557].
  it('interpolated, one-hot at zhat = smax, interpolated', () => {
    const r = run([1, 3, 2, 0, 3, 0], [0.2, 0.1, 0.3], 3, 2);
    close(r.A, [-1, 1.1547005, 0, -0.5773503, 1, -0.5773503]);
    close(r.e, [1.99998, 0.99999, 2.99997], 4);
    close(r.lam, [0.9640199, 0, 0.9950521]);
    close(r.c, [0.3121968, 0.6878032, 1, 0, 0.6814443, 0.3185557]);
    close(r.f, [0.48201, 0, 0.4975261]);
    expect(r.c[2]).toBe(1);
    expect(r.c[3]).toBe(0);
  });

  it('all-equal advantages -> one-hot at the first objective (step 1)', () => {
    // Identical columns: A = [-1, -1, -1], [0, 0, 0], [1, 1, 1]
    const r = run([1, 1, 1, 2, 2, 2, 3, 3, 3], [0.2, 0.1, 0.3], 3, 3);
    close(r.c, [1, 0, 0, 1, 0, 0, 1, 0, 0], 12);
    close(r.f, [-1, 0, 1]);
  });

  it('K = 1: c = 1, f = A', () => {
    const r = run([1, 2, 3, 5], [0.2, 0.1, 0.3, 0.1], 2, 1);
    close(r.c, [1, 1, 1, 1], 12);
    close(r.f, [-Math.SQRT1_2, Math.SQRT1_2, -Math.SQRT1_2, Math.SQRT1_2]);
    // e: group 0 q = [.2, .1]: mean .15, std .0707107 -> e = [2.8284, 1.4142] (absolute)
    close(r.e.slice(0, 2), [0.2 / (0.0707107 + 1e-6), 0.1 / (0.0707107 + 1e-6)], 4);
  });

  it('zhat clipped at smax: both A small and positive, lam/2 above them', () => {
    // G = 3, scale .1: column 0 r = [0, 2, 1] -> A = .1 * [-1, 1, 0]; column 1 r = [0, 3, 3]
    // -> mean 2, std sqrt 3 -> A = .1 * [-1.1547, .57735, .57735].
    // Sample 1: A = [.1, .0577350], s > 0, q large vs its std -> lam ~ 1, zhat = clip(.5, .0577, .1) = .1
    // -> one-hot at objective 0 (A = smax).
    const r = run([0, 0, 2, 3, 1, 3], [0.5, 0.6, 0.55], 3, 2, { objectiveScale: [0.1, 0.1] });
    expect(r.lam[1]).toBeGreaterThan(0.2);
    close(r.c.slice(2, 4), [1, 0], 12);
    close([r.f[1]!], [0.1], 6);
    // 'min-norm' puts zhat = clip(0, smin, smax) = smin = .0577350 -> one-hot at objective 1
    const m = run([0, 0, 2, 3, 1, 3], [0.5, 0.6, 0.55], 3, 2, { objectiveScale: [0.1, 0.1], objective: 'min-norm' });
    close(m.c.slice(2, 4), [0, 1], 12);
    close([m.f[1]!], [0.057735], 6);
    close(m.lam, [0, 0, 0], 12);
  });

  it('epsSolver = 0 with tied advantages: degenerate pair -> one-hot at lo', () => {
    // K = 3, G = 2: columns (0, 1), (0, 1), (2, 0) -> sample 1 A = [.7071, .7071, -.7071], s = .7071 > 0.
    // q = [0, 1]: mean .5, std .7071 -> e1 = 1/(.7071 + 1e-6) = 1.41421, tanh = .888385,
    // zhat = .4441924 between -.7071 and .7071 -> sorted [2, 0, 1]: pair (2, 0): c2 = (.7071 - .4442)/1.4142 = .1859,
    // c0 = (.4442 + .7071)/1.4142 = .8141
    const r = run([0, 0, 2, 1, 1, 0], [0, 1], 2, 3, { epsSolver: 0 });
    const a = Math.SQRT1_2;
    const lam = Math.tanh(1 / (a + 1e-6)) * (a / (a + 1e-6));
    close(r.lam.slice(1), [lam], 5);
    close(r.c.slice(3, 6), [(lam / 2 + a) / (2 * a), 0, (a - lam / 2) / (2 * a)], 5);
    // sample 0: A = [-.7071, -.7071, .7071], s < 0 -> lam = 0, zhat = 0 between -> sorted [0, 1, 2],
    // pair (1, 2): c1 = c2 = .5 (first adjacent pair with lo <= 0 <= hi is (1, 2) in sort order)
    close(r.c.slice(0, 3), [0, 0.5, 0.5], 6);
  });

  it('weighted modes report weights as coefficients and lambda 0', () => {
    const wa = run([1, 3, 2, 0, 3, 0], [0.2, 0.1, 0.3], 3, 2, { objective: 'weighted-advantage', objectiveWeights: [2, 0.5] });
    close(wa.c, [2, 0.5, 2, 0.5, 2, 0.5], 12);
    close(wa.f, [-1.4226497, -0.2886751, 1.7113249]);
    close(wa.lam, [0, 0, 0], 12);
    const wr = run([1, 3, 2, 0, 3, 0], [0.2, 0.1, 0.3], 3, 2, { objective: 'weighted-reward' });
    close(wr.f, [1, -1, 0]); // R = [4, 2, 3] -> mean 3, std 1
  });
});
