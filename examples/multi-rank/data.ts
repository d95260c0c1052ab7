/**
 * The example's batch, made the same way in every process from one seed: B groups of G samples, K
 * rewards each, a trajectory of T + 1 latents [D] per sample. Rank r of R holds, of every group,
 * the samples whose index within the group is in its slice (G / R of them), as a data-parallel
 * trainer whose groups span ranks does.
 */
export const B = 4, G = 8, T = 10, D = 4096, K = 3;
export const N = B * G;

/** A small deterministic generator (mulberry32). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sample i's trajectory [T + 1, D]: noise drifting towards a sample-specific endpoint. */
export function trajectory(i: number): Float32Array {
  const rand = mulberry32(1000 + i);
  const noise = Float32Array.from({ length: D }, () => rand() * 2 - 1);
  const end = Float32Array.from({ length: D }, () => rand() * 2 - 1);
  const z = new Float32Array((T + 1) * D);
  for (let j = 0; j <= T; j++) {
    const s = (j / T) ** (1 + (i % 3)); // a different pace per sample, so the step weights differ
    for (let d = 0; d < D; d++) z[j * D + d] = (1 - s) * noise[d]! + s * end[d]! + 0.05 * (rand() - 0.5);
  }
  return z;
}

/** Sample i's K rewards. */
export function rewards(i: number): Float32Array {
  const rand = mulberry32(9000 + i);
  return Float32Array.from({ length: K }, () => rand());
}

/** The global indices of the samples rank `rank` of `ranks` holds, in order: a slice of every group. */
export function samplesOf(rank: number, ranks: number): number[] {
  const per = G / ranks;
  const out: number[] = [];
  for (let g = 0; g < B; g++) for (let m = rank * per; m < (rank + 1) * per; m++) out.push(g * G + m);
  return out;
}
