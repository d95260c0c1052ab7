// A deterministic fill (xorshift) in [-0.5, 0.5): inputs too large for the Gaussian generator, shared
// by the vitest suites and the child-process scenarios of hostile.mjs (plain JavaScript, so .mjs).

/** Fills `a` (a Float32Array) from `seed` and returns it. */
export function fill(a, seed) {
  let x = seed | 1;
  for (let i = 0; i < a.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = (x >>> 0) / 4294967296 - 0.5;
  }
  return a;
}
