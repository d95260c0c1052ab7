// Checks that only the simulated device (the test build of test/native/sim/simulated_device.cpp, build/simulated/) can
// make: that it is what ran, and that a device pointer outside every allocation is a typed error
// naming what was read, not a crash or a read of someone else's memory. Skipped on a real GPU and
// on builds without one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeRewards, makeTrajectory } from '../../bench/gpu/data.mjs';
import { CUDA, DEV, Tensor, advantages, devicePointer, download, otca, releaseAll, upload } from './_api.mjs';

const SIMULATED = CUDA.usable && String(otca.backendInfo()?.backends?.cuda?.architectures ?? '').includes('simulated');

function skipUnlessSimulated(t) {
  if (SIMULATED) return false;
  t.skip('not the simulated device (build/simulated/): these checks need its bounds checking');
  return true;
}

test('the simulated device says what it is', (t) => {
  if (skipUnlessSimulated(t)) return;
  const cuda = otca.backendInfo().backends.cuda;
  assert.equal(cuda.usable, true);
  assert.deepEqual([...cuda.architectures], ['simulated']);
  assert.match(cuda.devices[0].name, /simulated device .*never shipped/);
  assert.equal(cuda.deviceCount, 2);
});

test('a borrowed pointer running past its allocation is a DeviceError naming the state', (t) => {
  if (skipUnlessSimulated(t)) return;
  // 4096 bytes: exactly one block of the addon's device-memory cache, so the allocation ends where
  // the tensor does (smaller tensors get a 4 KiB block and a shifted view stays inside it)
  const N = 2, T = 1, D = 256, K = 2;
  const base = upload(makeTrajectory(N, T, D, 3), [N * (T + 1) * D], 'float32');
  const rew = upload(makeRewards(N, K, 3), [N, K], 'float32');
  // one element in: the last row of state T = 1 then ends 4 bytes past the allocation
  const shifted = Tensor.fromDevicePointer(devicePointer(base) + 4n, [N, T + 1, D], 'float32', DEV, base);
  assert.throws(() => advantages(rew, shifted, N, { device: DEV }), (e) => {
    assert.match(e.message, /cudaErrorIllegalAddress while accessing latent state 1 on cuda:0 \(simulated\)/);
    return true;
  });
  // the same view, one element shorter, is inside: it runs
  const inside = Tensor.fromDevicePointer(devicePointer(base) + 4n, [N, T + 1, D - 1], 'float32', DEV, base);
  const out = advantages(rew, inside, N, { device: DEV });
  assert.equal(out.backend, DEV);
  assert.ok(download(out.advantages).every(Number.isFinite));
  releaseAll(out);
  base.dispose();
  rew.dispose();
});

test('uninitialised device memory reads as NaN: a result computed from Tensor.empty fails as non-finite', (t) => {
  if (skipUnlessSimulated(t)) return;
  // past the addon's cache of small device blocks (4 MiB), so the memory is fresh from the device
  // and not a block an earlier test released
  const N = 2, T = 1, D = 300_000, K = 1;
  const lat = Tensor.empty([N, T + 1, D], 'float32', DEV);
  const rew = upload(makeRewards(N, K, 4), [N, K], 'float32');
  assert.throws(() => advantages(rew, lat, N, { device: DEV }), /latents.*NaN|NaN.*latents/);
  lat.dispose();
  rew.dispose();
});
