/**
 * The seed of every randomised test (parity, property, phases, determinism, async). Fixed by
 * default, so that `npm test` is repeatable; `OTCA_TEST_SEED=<n>` reruns with another seed (a failure
 * message names the seed it ran with), and `OTCA_TEST_SEED=random` draws one and prints it.
 */
const given = process.env.OTCA_TEST_SEED;

export const TEST_SEED: number =
  given === undefined || given === '' ? 20_261_205 : given === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(given);

if (!Number.isSafeInteger(TEST_SEED)) throw new RangeError(`Expected an integer or 'random' for OTCA_TEST_SEED but received ${given}`);
if (given === 'random') console.log(`[otca tests] OTCA_TEST_SEED=${TEST_SEED} (rerun with this value to reproduce)`);
