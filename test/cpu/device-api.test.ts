// The device side of the API (issue 3) as far as a machine without a GPU can check it: device
// strings, the errors and the one fallback warning, Tensor.empty / to / fromDevicePointer without
// a device, dispose semantics, backendInfo's shape, and that forged native handles are rejected.
// GPU behaviour itself is tested in test/gpu/*.test.mjs on a CUDA machine.
import { describe, expect, it } from 'vitest';

import {
  backendInfo,
  DeviceUnavailableError,
  objectiveCredit,
  otcaAdvantages,
  otcaAdvantagesAsync,
  Tensor,
  trajectoryCredit,
} from '../../lib/index.js';
import { fallbackWarning } from '../../lib/step.js';
import { native, OUTPUT_COUNT, OUTPUT_SLOTS, RUN_HEADER, RUN_KIND, runPlan, type NativePlanOptions } from '../../lib/native.js';

const N = 4, T = 2, D = 8, K = 2;
const latents = () => Tensor.from(Float32Array.from({ length: N * (T + 1) * D }, (_, k) => Math.sin(k + 1)), [N, T + 1, D]);
const rewards = () => Tensor.from(Float32Array.from({ length: N * K }, (_, k) => Math.cos(k)), [N, K]);
const call = (options: Record<string, unknown>) => () =>
  otcaAdvantages({ rewards: rewards(), latents: latents(), groupSize: 2 }, options as never);

const cuda = backendInfo().backends.cuda;
const noDevice = !cuda.usable;
const fallbackCase = cuda.compiled && !cuda.usable;

/** Collects the 'warning' events with `code` emitted while `fn` runs (and a tick after it). */
async function warningsDuring(code: string, fn: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const listener = (w: Error & { code?: string }) => {
    if (w.code === code) seen.push(w);
  };
  process.on('warning', listener);
  try {
    await fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

// First in the file: the fallback warning is once per process.
describe("device 'auto'", () => {
  it.skipIf(!fallbackCase || cuda.driverVersion > 0)('runs on the CPU quietly where CUDA is compiled in and no NVIDIA driver is installed', async () => {
    const seen = await warningsDuring('OTCA_CUDA_FALLBACK', async () => {
      expect(call({})().backend).toBe('cpu');
      expect(call({ device: 'auto' })().backend).toBe('cpu');
      expect((await otcaAdvantagesAsync({ rewards: rewards(), latents: latents(), groupSize: 2 })).backend).toBe('cpu');
      expect(trajectoryCredit({ latents: latents() }).backend).toBe('cpu');
    });
    expect(seen).toHaveLength(0);
  });

  it.skipIf(!fallbackCase || cuda.driverVersion === 0)('warns exactly once where a driver answered but CUDA cannot be used', async () => {
    const seen = await warningsDuring('OTCA_CUDA_FALLBACK', async () => {
      expect(call({})().backend).toBe('cpu');
      expect(call({ device: 'auto' })().backend).toBe('cpu');
      expect(trajectoryCredit({ latents: latents() }).backend).toBe('cpu');
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.message).toContain(cuda.reason!);
    expect(seen[0]!.name).toBe('OtcaWarning');
  });

  it('the warning is said where a driver answered and nowhere else', () => {
    const status = { compiled: true, usable: false, deviceCount: 0, driverVersion: 0, runtimeVersion: 13000, reason: 'cudaErrorInsufficientDriver: x', architectures: '', devices: [] };
    expect(fallbackWarning(status)).toBeUndefined();  // no driver: a CPU machine
    expect(fallbackWarning({ ...status, compiled: false })).toBeUndefined();
    expect(fallbackWarning({ ...status, usable: true, driverVersion: 13000 })).toBeUndefined();
    const w = fallbackWarning({ ...status, driverVersion: 12040, reason: 'cudaErrorInsufficientDriver: the driver is too old (driver supports CUDA 12.4, this build needs 13.0)' });
    expect(w?.message).toBe("otca: device 'auto' runs on the CPU because CUDA cannot be used: cudaErrorInsufficientDriver: the driver is too old (driver supports CUDA 12.4, this build needs 13.0)");
    expect(w?.detail).toMatch(/device: 'cpu' \(or set OTCA_DEVICE=cpu\)/);
  });

  it.skipIf(cuda.compiled)('runs on the CPU without a warning where CUDA is not compiled in', async () => {
    const seen = await warningsDuring('OTCA_CUDA_FALLBACK', async () => {
      expect(call({})().backend).toBe('cpu');
    });
    expect(seen).toHaveLength(0);
  });

  it("device 'cpu' never warns", async () => {
    const seen = await warningsDuring('OTCA_CUDA_FALLBACK', async () => {
      expect(call({ device: 'cpu' })().backend).toBe('cpu');
    });
    expect(seen).toHaveLength(0);
  });
});

describe('device strings', () => {
  for (const bad of ['gpu', 'cuda:-1', 'cuda:1.5', 'CUDA:0', '', 'cuda:', 'cuda:01', 'cpu:0', ' cuda']) {
    it(`device ${JSON.stringify(bad)} is a RangeError naming device`, () => {
      expect(call({ device: bad })).toThrow(RangeError);
      expect(call({ device: bad })).toThrow(/Expected one of 'auto', 'cpu', 'cuda', 'cuda:N' for device but received/);
      expect(() => trajectoryCredit({ latents: latents() }, { device: bad as never })).toThrow(RangeError);
    });
  }

  it('a device that is not a string is a TypeError', () => {
    expect(call({ device: 0 })).toThrow(TypeError);
    expect(call({ device: null })).toThrow(/for device but received null/);
  });

  it.skipIf(!noDevice)("'cuda:99' without a usable device throws DeviceUnavailableError with the reason", () => {
    expect(call({ device: 'cuda:99' })).toThrow(DeviceUnavailableError);
    expect(call({ device: 'cuda:99' })).toThrow(cuda.reason!);
  });

  it.skipIf(noDevice)("'cuda:99' past the last device is a RangeError", () => {
    expect(call({ device: 'cuda:99' })).toThrow(RangeError);
    expect(call({ device: 'cuda:99' })).toThrow(/CUDA device index/);
  });

  it('outputDevice is validated', () => {
    expect(call({ outputDevice: 'gpu' })).toThrow(RangeError);
    expect(call({ outputDevice: 'gpu' })).toThrow(/Expected one of 'input', 'cpu', 'device' for outputDevice but received "gpu"/);
    expect(call({ outputDevice: 1 })).toThrow(TypeError);
    for (const outputDevice of ['input', 'cpu', 'device']) {
      const out = call({ device: 'cpu', outputDevice })();
      expect(out.advantages.device).toBe('cpu');
      expect(out.advantages.data).toBeInstanceOf(Float32Array);
    }
  });
});

describe.skipIf(!noDevice)('CUDA requests without a usable device', () => {
  const reason = cuda.reason!;

  for (const device of ['cuda', 'cuda:0']) {
    it(`device '${device}' throws a DeviceUnavailableError that says why`, async () => {
      for (const run of [
        call({ device }),
        () => trajectoryCredit({ latents: latents() }, { device: device as never }),
        () => objectiveCredit({ rewards: rewards(), trajectoryScore: new Float32Array(N), groupSize: 2 }, { device: device as never }),
      ]) {
        let error: unknown;
        try {
          run();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(DeviceUnavailableError);
        const e = error as Error & { code?: string };
        expect(e.code).toBe('OTCA_CUDA_UNAVAILABLE');
        expect(e.message).toContain(reason);
        expect(e.message).toContain(`"${device}"`);
      }
      await expect(otcaAdvantagesAsync({ rewards: rewards(), latents: latents(), groupSize: 2 }, { device: device as never })).rejects.toThrow(
        DeviceUnavailableError,
      );
    });
  }

  it('the reason names the CUDA error where CUDA is compiled in', () => {
    if (!cuda.compiled) expect(reason).toMatch(/built without CUDA/);
    else expect(reason).toMatch(/cuda[A-Z][A-Za-z]+/);
  });

  it("Tensor.empty(shape, dtype, 'cuda:0') throws clearly", () => {
    expect(() => Tensor.empty([3, 5], 'bfloat16', 'cuda:0')).toThrow(DeviceUnavailableError);
    expect(() => Tensor.empty([3, 5], 'float32', 'cuda')).toThrow(reason);
  });

  it("tensor.to('cuda:0') and toAsync('cuda:0') throw clearly; to('cpu') is the tensor itself", async () => {
    const t = Tensor.from(new Float32Array(4), [4]);
    expect(() => t.to('cuda:0')).toThrow(DeviceUnavailableError);
    expect(() => t.to('cuda')).toThrow(reason);
    await expect(t.toAsync('cuda:0')).rejects.toThrow(DeviceUnavailableError);
    expect(t.to('cpu')).toBe(t);
    expect(await t.toAsync('cpu')).toBe(t);
  });

  it('Tensor.fromDevicePointer throws clearly', () => {
    expect(() => Tensor.fromDevicePointer(0x7f0000000000n, [4], 'float32', 'cuda:0')).toThrow(DeviceUnavailableError);
  });
});

describe('Tensor device API on the host', () => {
  it('to() rejects bad device strings', () => {
    const t = Tensor.from(new Float32Array(4), [4]);
    for (const bad of ['cuda:-1', 'gpu', 'auto', 'cuda:1.5']) expect(() => t.to(bad as never)).toThrow(RangeError);
    expect(() => t.to(3 as never)).toThrow(TypeError);
  });

  it('Tensor.empty on the host is zero-filled with the shape, dtype and device asked for', () => {
    const a = Tensor.empty([2, 3]);
    expect(a.dtype).toBe('float32');
    expect(a.device).toBe('cpu');
    expect([...a.shape]).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([0, 0, 0, 0, 0, 0]);
    const b = Tensor.empty([4], 'bfloat16', 'cpu');
    expect(b.data).toBeInstanceOf(Uint16Array);
    expect(Tensor.empty([2], 'float64').data).toBeInstanceOf(Float64Array);
    expect(() => Tensor.empty([2], 'int8' as never)).toThrow(RangeError);
    expect(() => Tensor.empty([-1])).toThrow(RangeError);
    expect(() => Tensor.empty([2], 'float32', 'tpu' as never)).toThrow(RangeError);
  });

  it('fromDevicePointer validates its arguments before touching a device', () => {
    expect(() => Tensor.fromDevicePointer(5 as never, [4], 'float32', 'cuda:0')).toThrow(TypeError);
    expect(() => Tensor.fromDevicePointer(0n, [4], 'float32', 'cuda:0')).toThrow(RangeError);
    expect(() => Tensor.fromDevicePointer(1n << 64n, [4], 'float32', 'cuda:0')).toThrow(RangeError);
    expect(() => Tensor.fromDevicePointer(4096n, [4], 'float32', 'cpu')).toThrow(RangeError);
    expect(() => Tensor.fromDevicePointer(4096n, [4], 'int8' as never, 'cuda:0')).toThrow(RangeError);
  });

  it('devicePointer on a host tensor is a TypeError', () => {
    expect(() => Tensor.from(new Float32Array(2), [2]).devicePointer).toThrow(/host tensor/);
  });

  it('dispose is idempotent and use after dispose names the tensor and its state', async () => {
    const t = Tensor.from(new Float32Array(6), [2, 3]);
    t.dispose();
    t.dispose();
    t[Symbol.dispose]();
    expect(t.disposed).toBe(true);
    expect(() => t.data).toThrow(/Tensor\(float32, \[2, 3\], cpu\) was disposed/);
    expect(() => t.to('cpu')).toThrow(/was disposed/);
    await expect(t.toAsync('cpu')).rejects.toThrow(/was disposed/);
    expect(String(t)).toContain('disposed');
    const z = latents();
    z.dispose();
    expect(() => otcaAdvantages({ rewards: rewards(), latents: z, groupSize: 2 })).toThrow(/disposed/);
  });

  it('`using` disposes at the end of the scope', () => {
    let seen: Tensor | undefined;
    {
      using t = Tensor.from(new Float32Array(2), [2]);
      seen = t;
      expect(t.disposed).toBe(false);
    }
    expect(seen.disposed).toBe(true);
  });
});

const planOptions: NativePlanOptions = {
  temporal: 'tcd', weightScale: 'mean', objective: 'moca', stdScope: 'group', explorationSignal: 'absolute',
  stdCorrection: 1, minWeight: 0.5, advClip: 5, epsAdv: 1e-8, epsTcd: 1e-6, epsMoca: 1e-6, epsSolver: 1e-8,
  threads: 0, fusedNormalization: 'none', stdStabilizer: 'add', fusedClip: Infinity, objectiveWeights: undefined, objectiveScale: undefined,
};

describe('native device handles', () => {
  it('forged objects never reach C++ as device buffers', () => {
    const n = native();
    for (const forged of [{}, { ptr: 1 }, new Float32Array(2), null, 7]) {
      expect(() => n.deviceRelease(forged as never)).toThrow(TypeError);
      expect(() => n.devicePointer(forged as never)).toThrow(TypeError);
    }
    expect(() => n.deviceCopy(new Float32Array(2) as never, new Float32Array(2) as never)).toThrow(/two host buffers/);
    const header = new Float64Array(RUN_HEADER.length);
    Object.assign(header, { [RUN_HEADER.N]: N, [RUN_HEADER.T]: T, [RUN_HEADER.D]: D, [RUN_HEADER.stacked]: 1 });
    const plan = new n.NativePlan(-1, planOptions);
    expect(() => runPlan(plan, RUN_KIND.trajectory, { header, states: [{}], outputs: [] } as never, false)).toThrow(TypeError);
    // forged plans never reach C++ either
    const forgedRun = (n.NativePlan.prototype as unknown as { run: (...a: unknown[]) => unknown }).run;
    expect(() => forgedRun.call({}, new Float64Array(RUN_HEADER.length))).toThrow(TypeError);
  });

  it('a borrowed handle is tagged, reports its address, releases idempotently, and a CPU job refuses it', () => {
    const n = native();
    // Borrowing touches no device: the address is never dereferenced here.
    const view = n.deviceBorrow(0, 0x10000n, N * (T + 1) * D * 4);
    expect(n.devicePointer(view)).toBe(0x10000n);
    // a phase-1 run of a plan on `device` (lib/native.ts NativeRun): the numbers in the header, the buffers beside it
    const phase1 = (device: number, states: unknown[]) => {
      const header = new Float64Array(RUN_HEADER.length);
      Object.assign(header, { [RUN_HEADER.N]: N, [RUN_HEADER.T]: T, [RUN_HEADER.D]: D, [RUN_HEADER.stacked]: 1 });
      header[RUN_HEADER.outputMask] = 1 << OUTPUT_SLOTS.deltaS;
      const outputs: unknown[] = new Array(OUTPUT_COUNT).fill(undefined);
      outputs[OUTPUT_SLOTS.deltaS] = new Float32Array(N * T);
      const run = { header, states, rewards: undefined, trajectoryScore: undefined, groupIds: undefined, outputs } as never;
      return () => runPlan(new n.NativePlan(device, planOptions), RUN_KIND.trajectory, run, false);
    };
    expect(phase1(-1, [view])).toThrow(/Expected a host buffer \(the CPU backend runs this call\) for latents but received a cuda:0 buffer/);
    expect(phase1(1, [view])).toThrow(/Expected a buffer on cuda:1 .* for latents but received a cuda:0 buffer/);
    const small = n.deviceBorrow(0, 0x10000n, 4);
    expect(phase1(0, [small])).toThrow(RangeError);
    n.deviceRelease(view);
    n.deviceRelease(view);
    expect(() => n.devicePointer(view)).toThrow(/disposed/);
    expect(phase1(0, [view])).toThrow(/Expected a live \(not disposed\) device tensor for latents/);
    expect(() => n.deviceBorrow(0, 0n, 4)).toThrow(RangeError);
    expect(() => n.deviceBorrow(0, 2n ** 64n - 2n, 4)).toThrow(RangeError);
    expect(() => n.deviceBorrow(-1, 4096n, 4)).toThrow(RangeError);
  });

  it.skipIf(!noDevice)('deviceAlloc throws (no usable device)', () => {
    expect(() => native().deviceAlloc(0, [16])).toThrow();
  });
});

describe('backendInfo', () => {
  // Issue 18 item 11: with no driver at all the runtime reports "insufficient driver"; the reason
  // says what is actually missing before the runtime's words.
  it.runIf(cuda.compiled && cuda.driverVersion === 0)('says first that no NVIDIA driver was found, where none is installed', () => {
    expect(cuda.reason).toMatch(/^no NVIDIA driver was found \(libcuda\.so\.1 did not load\): cudaError\w+: /);
    let err: unknown;
    try {
      Tensor.empty([2], 'float32', 'cuda:0');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeviceUnavailableError);
    expect((err as Error).message).toContain(`CUDA backend not available: ${cuda.reason}`);
  });

  it('DeviceUnavailableError carries its code from its class, however it is made', () => {
    const e = new DeviceUnavailableError('x');
    const code: 'OTCA_CUDA_UNAVAILABLE' = e.code; // declared in the types (issue 18 item 7)
    expect(code).toBe('OTCA_CUDA_UNAVAILABLE');
    expect(e.name).toBe('DeviceUnavailableError');
  });

  it('has the CPU and CUDA backends with the documented fields', () => {
    const info = backendInfo();
    expect(typeof info.version).toBe('string');
    expect(typeof info.binary).toBe('string');
    expect(info.backends.cpu).toMatchObject({ compiled: true, usable: true });
    expect(info.backends.cpu.threads).toBeGreaterThanOrEqual(1);
    const c = info.backends.cuda;
    expect(typeof c.compiled).toBe('boolean');
    expect(typeof c.usable).toBe('boolean');
    expect(Array.isArray(c.devices)).toBe(true);
    expect(Array.isArray(c.architectures)).toBe(true);
    expect(typeof c.driverVersion).toBe('number');
    expect(typeof c.runtimeVersion).toBe('number');
    expect(typeof c.deviceCount).toBe('number');
    if (!c.usable) {
      expect(c.reason).toBeTruthy();
      expect(c.devices).toEqual([]);
    }
    if (c.compiled) {
      expect(c.architectures.length).toBeGreaterThan(0);
      expect(c.runtimeVersion).toBeGreaterThan(0);
    } else {
      expect(c.usable).toBe(false);
      expect(c.architectures).toEqual([]);
    }
    for (const [i, d] of c.devices.entries()) {
      expect(d.index).toBe(i);
      expect(d.device).toBe(`cuda:${i}`);
      expect(typeof d.name).toBe('string');
      expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
      expect(d.multiprocessors).toBeGreaterThan(0);
      expect(d.memory).toBeGreaterThan(0);
    }
  });
});
