// Device strings and device selection (issue 3). The bad-string tests run everywhere: they must
// throw a typed error naming the device whether or not CUDA is usable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeRewards, makeTrajectory } from '../../bench/gpu/data.mjs';
import { CUDA, DEV, skipWithoutAddon, Tensor, advantages, download, releaseAll, skipWithoutCuda, upload } from './_api.mjs';

const N = 4, T = 2, D = 24, K = 2;
const hostLat = () => Tensor.from(makeTrajectory(N, T, D, 5), [N, T + 1, D]);
const hostRew = () => Tensor.from(makeRewards(N, K, 5), [N, K]);

for (const bad of ['cuda:99', 'gpu', 'cuda:-1', 'cuda:1.5', 'CUDA:0', '']) {
  test(`device ${JSON.stringify(bad)} throws an error naming the device`, (t) => {
    if (skipWithoutAddon(t)) return;
    assert.throws(() => advantages(hostRew(), hostLat(), N, { device: bad }), (e) => {
      assert.ok(e instanceof Error, 'an Error');
      assert.match(e.message, /device|cuda|CUDA/, e.message);
      return true;
    });
  });
}

test("device 'cuda' where none is usable throws and says why", (t) => {
  if (skipWithoutAddon(t)) return;
  if (CUDA.usable) return t.skip('a CUDA device is usable here');
  assert.throws(() => advantages(hostRew(), hostLat(), N, { device: 'cuda' }), /CUDA|cuda/);
});

test("device 'cuda' and 'cuda:0' run on cuda:0; 'auto' with device inputs stays there", (t) => {
  if (skipWithoutCuda(t)) return;
  for (const device of ['cuda', 'cuda:0']) {
    const out = advantages(hostRew(), hostLat(), N, { device });
    assert.equal(out.backend, DEV);
    releaseAll(out);
  }
  const lat = upload(makeTrajectory(N, T, D, 6), [N, T + 1, D], 'float32');
  const rew = upload(makeRewards(N, K, 6), [N, K], 'float32');
  const out = advantages(rew, lat, N, { device: 'auto' });
  assert.equal(out.backend, DEV);
  const cpu = advantages(hostRew(), hostLat(), N, { device: 'cpu' });
  assert.equal(cpu.backend, 'cpu');
  assert.equal(download(out.advantages).length, download(cpu.advantages).length);
  releaseAll(out);
  lat.dispose();
  rew.dispose();
});

test('to() rejects bad device strings', (t) => {
  if (skipWithoutCuda(t)) return;
  const h = Tensor.from(new Float32Array(4), [4]);
  for (const bad of ['cuda:99', 'gpu', 'cuda:-1']) assert.throws(() => h.to(bad), /device|cuda/i);
});
