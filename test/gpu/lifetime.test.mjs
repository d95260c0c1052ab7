// Device-tensor lifetime (issue 3): dispose twice is a no-op, use after dispose throws, `data` on a
// device tensor throws and says to use to('cpu'), a borrowed pointer (Tensor.fromDevicePointer) is
// never freed by us, round trips keep the bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeRewards, makeTrajectory, toBf16 } from '../../bench/gpu/data.mjs';
import { DEV, Tensor, advantages, devicePointer, download, releaseAll, skipWithoutCuda, upload } from './_api.mjs';

test('round trip host -> device -> host keeps the bytes (float32, bfloat16)', (t) => {
  if (skipWithoutCuda(t)) return;
  const f = makeTrajectory(1, 1, 999, 1);
  for (const [host, dtype] of [[f, 'float32'], [toBf16(f), 'bfloat16']]) {
    const d = upload(host, [host.length], dtype);
    assert.equal(d.device, DEV);
    assert.deepEqual(Array.from(download(d)), Array.from(host));
    d.dispose();
  }
});

test('data on a device tensor throws and names to(\'cpu\')', (t) => {
  if (skipWithoutCuda(t)) return;
  const d = upload(new Float32Array([1, 2, 3]), [3], 'float32');
  assert.throws(() => d.data, /to\('cpu'\)|cpu/);
  d.dispose();
});

test('dispose twice is a no-op; use after dispose throws', (t) => {
  if (skipWithoutCuda(t)) return;
  const N = 4, T = 2, D = 16, K = 2;
  const lat = upload(makeTrajectory(N, T, D, 2), [N, T + 1, D], 'float32');
  const rew = upload(makeRewards(N, K, 2), [N, K], 'float32');
  lat.dispose();
  lat.dispose();
  assert.doesNotThrow(() => lat[Symbol.dispose]());
  assert.throws(() => lat.to('cpu'));
  assert.throws(() => advantages(rew, lat, N, { device: DEV }));
  rew.dispose();
});

test('Tensor.empty on the device has the shape, dtype and device asked for', (t) => {
  if (skipWithoutCuda(t)) return;
  if (typeof Tensor.empty !== 'function') return t.skip('Tensor.empty is not there');
  const e = Tensor.empty([3, 5], 'bfloat16', DEV);
  assert.deepEqual([...e.shape], [3, 5]);
  assert.equal(e.dtype, 'bfloat16');
  assert.equal(e.device, DEV);
  assert.equal(download(e).length, 15);
  e.dispose();
});

test('a borrowed device pointer is never freed by us', (t) => {
  if (skipWithoutCuda(t)) return;
  const host = makeTrajectory(2, 1, 500, 3);
  const owner = upload(host, [host.length], 'float32');
  const p = devicePointer(owner);
  if (p === undefined) {
    owner.dispose();
    return t.skip('no device-pointer accessor on Tensor (devicePointer/dataPointer/pointer/ptr)');
  }
  for (let k = 0; k < 3; k++) {
    const b = Tensor.fromDevicePointer(p, [host.length], 'float32', DEV, owner);
    assert.deepEqual(Array.from(download(b)), Array.from(host));
    b.dispose();
    b.dispose();
  }
  // Without keepAlive too: disposing the borrow must not free the owner's memory.
  const b2 = Tensor.fromDevicePointer(p, [host.length], 'float32', DEV);
  b2.dispose();
  assert.deepEqual(Array.from(download(owner)), Array.from(host), 'owner memory changed after borrows were disposed');
  // A computation reading through a borrow, then the owner still intact.
  const N = 2, T = 1, D = 250;
  const lat = Tensor.fromDevicePointer(p, [N, T + 1, D], 'float32', DEV, owner);
  const rew = upload(makeRewards(N, 2, 3), [N, 2], 'float32');
  const out = advantages(rew, lat, N, { device: DEV });
  assert.equal(download(out.advantages).length, N * T);
  releaseAll(out);
  lat.dispose();
  rew.dispose();
  assert.deepEqual(Array.from(download(owner)), Array.from(host));
  owner.dispose();
});

test('results of a device computation are device tensors and free on dispose', (t) => {
  if (skipWithoutCuda(t)) return;
  const N = 6, T = 3, D = 40, K = 2;
  const lat = upload(makeTrajectory(N, T, D, 4), [N, T + 1, D], 'float32');
  const rew = upload(makeRewards(N, K, 4), [N, K], 'float32');
  for (let k = 0; k < 200; k++) {
    const out = advantages(rew, lat, 3, { device: DEV, outputs: 'all' });
    if (k === 0) {
      assert.equal(out.backend, DEV);
      assert.equal(out.advantages.device, DEV);
    }
    releaseAll(out);
  }
  lat.dispose();
  rew.dispose();
});
