// The GPU tests' view of the package: every use of the device-tensor API (issue 3) goes through
// here, so a name that lands differently is fixed in one place. Imports only node builtins and
// dist/ (the device machine has no node_modules). Not a test file (no .test. in its name).
import { pathToFileURL } from 'node:url';

const dist = process.env.OTCA_DIST ?? new URL('../../dist/lib/', import.meta.url).pathname;
export const otca = await import(pathToFileURL(dist + 'index.js').href);
export const ref = await import(pathToFileURL(dist + 'reference.js').href);
export const { Tensor } = otca;

/** { usable, reason } of the CUDA backend, from backendInfo(). */
export function cudaState() {
  let info;
  try {
    info = otca.backendInfo();
  } catch (e) {
    return { usable: false, reason: `backendInfo() threw: ${String(e.message).split('\n')[0]}` };
  }
  const c = info?.backends?.cuda ?? info?.cuda ?? {};
  return { usable: Boolean(c.usable), reason: String(c.reason || (c.compiled === false ? 'built without CUDA' : 'unknown')) };
}

// OTCA_GPU_TEST_DEVICE=cpu runs the tests' own code on the CPU backend (a check of the harness on
// a machine without a GPU; the device-only assertions then fail by design).
const SELF_CHECK = process.env.OTCA_GPU_TEST_DEVICE === 'cpu';
export const CUDA = SELF_CHECK ? { usable: true, reason: 'harness self-check on cpu' } : cudaState();
/** Why the addon itself does not load (undefined where it does): then every test skips. */
export const ADDON_ERROR = CUDA.reason.startsWith('backendInfo() threw') ? CUDA.reason : undefined;

/** Skips where the addon does not load at all; true when skipped. */
export function skipWithoutAddon(t) {
  if (!ADDON_ERROR) return false;
  t.skip(`addon not loadable: ${ADDON_ERROR}`);
  return true;
}
export const DEV = SELF_CHECK ? 'cpu' : 'cuda:0';

/** Skips the test with a visible reason where no CUDA device is usable; true when skipped. */
export function skipWithoutCuda(t) {
  if (CUDA.usable) return false;
  t.skip(`no usable CUDA device: ${CUDA.reason}`);
  return true;
}

export function upload(host, shape, dtype, device = DEV) {
  const t = Tensor.from(host, shape, dtype);
  return device === 'cpu' ? t : t.to(device);
}

export function download(t) {
  return t.device === 'cpu' ? t.data : t.to('cpu').data;
}

export function release(t) {
  if (t && t.device && t.device !== 'cpu') t.dispose();
}

export function releaseAll(obj) {
  for (const v of Object.values(obj)) if (v instanceof Tensor) release(v);
}

/** The device address of a device tensor, as a bigint, or undefined where no accessor exists. */
export function devicePointer(t) {
  for (const name of ['devicePointer', 'dataPointer', 'pointer', 'ptr', 'address']) {
    let v = t[name];
    if (typeof v === 'function') v = v.call(t);
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number') return BigInt(v);
  }
  return undefined;
}

/** A borrowed view of `base`'s device memory starting `offset` elements in. */
export function borrowAt(base, offset, shape, dtype) {
  const p = devicePointer(base);
  if (p === undefined) return undefined;
  const size = dtype === 'float32' ? 4 : dtype === 'float64' ? 8 : 2;
  return Tensor.fromDevicePointer(p + BigInt(offset * size), shape, dtype, base.device, base);
}

export function advantages(rewards, latents, groupSize, options) {
  return otca.otcaAdvantages({ rewards, latents, groupSize }, options);
}

export const FIELDS = ['advantages', 'similarity', 'deltaS', 'rawWeights', 'stepWeights', 'trajectoryScore',
  'objectiveAdvantages', 'exploration', 'lambda', 'coefficients', 'fused'];

/** max |got - want| / max(1, max |want|) over the arrays. */
export function relDiff(got, want) {
  if (got.length !== want.length) return Infinity;
  let scale = 1;
  for (let k = 0; k < want.length; k++) scale = Math.max(scale, Math.abs(want[k]));
  let worst = 0;
  for (let k = 0; k < want.length; k++) {
    const d = Math.abs(got[k] - want[k]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst / scale;
}
