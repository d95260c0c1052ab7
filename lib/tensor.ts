/**
 * The Tensor: a typed, shaped view of host memory the caller owns (zero-copy), or of device memory
 * (CUDA builds) that otca owns or borrows.
 * @packageDocumentation
 */
import {
  arrayMatchesDtype,
  arrayNameFor,
  DTYPE_BYTES,
  inferDtype,
  isDtype,
  type Dtype,
  type TypedArrayFor,
} from './dtypes.js';
import { describeTag, formatShape, isDetached, rangeError, typeError, DeviceUnavailableError } from './errors.js';
import { native, type NativeCudaStatus, type NativeDeviceBuffer } from './native.js';
import { types } from 'node:util';

/** Where a tensor's memory lives: `'cpu'` (host memory, a TypedArray) or `'cuda:N'` (device N). */
export type Device = 'cpu' | `cuda:${number}`;

export type { DeviceRequest } from './options.js';

/** @internal Parses `'cpu' | 'cuda' | 'cuda:N' | 'auto'`; undefined where the string is none of them. */
export function parseDevice(value: string): { kind: 'auto' | 'cpu' } | { kind: 'cuda'; index: number } | undefined {
  if (value === 'auto' || value === 'cpu') return { kind: value };
  if (value === 'cuda') return { kind: 'cuda', index: 0 };
  const m = /^cuda:(0|[1-9][0-9]{0,3})$/.exec(value);
  return m ? { kind: 'cuda', index: Number(m[1]) } : undefined;
}

/** @internal The error for a CUDA request this build or machine cannot serve, with the reason. */
export function cudaUnavailable(what: string, reason: string): DeviceUnavailableError {
  return new DeviceUnavailableError(`CUDA backend not available: ${reason} (asked for ${what}); use device 'cpu' or 'auto'`);
}

let cudaStatusCache: NativeCudaStatus | undefined;

/** @internal The CUDA backend's status (gpu::status(), asked lazily once: never at load time). */
export function cudaStatus(): NativeCudaStatus {
  cudaStatusCache ??= native().backendInfo().cuda;
  return cudaStatusCache;
}

/** @internal The reason CUDA cannot run here, as backendInfo() reports it. */
export function cudaReason(status: NativeCudaStatus): string {
  return status.reason || (status.compiled ? 'no usable CUDA device' : 'otca was built without CUDA');
}

/**
 * @internal Checks that cuda:`index` can be used; `asked` is the device string the caller wrote.
 * Throws DeviceUnavailableError (code OTCA_CUDA_UNAVAILABLE) with the reason where CUDA is not
 * compiled in or not usable, RangeError where the index is past the last device.
 */
export function requireCuda(index: number, asked: string, argument = 'device'): void {
  const status = cudaStatus();
  if (!status.compiled || !status.usable) throw cudaUnavailable(JSON.stringify(asked), cudaReason(status));
  if (index >= status.deviceCount) {
    const n = status.deviceCount;
    throw rangeError(
      `a CUDA device index in [0, ${n - 1}] (this machine has ${n} CUDA device${n === 1 ? '' : 's'})`,
      argument,
      asked,
    );
  }
}

/** @internal The device string, parsed for a tensor: 'cpu' or a CUDA index that exists here. */
function tensorDevice(device: unknown, argument: string): { kind: 'cpu' } | { kind: 'cuda'; index: number } {
  const expectation = "'cpu', 'cuda' or 'cuda:N'";
  if (typeof device !== 'string') throw typeError(expectation, argument, device);
  const parsed = parseDevice(device);
  if (parsed === undefined || parsed.kind === 'auto') throw rangeError(expectation, argument, device);
  if (parsed.kind === 'cuda') requireCuda(parsed.index, device, argument);
  return parsed.kind === 'cuda' ? parsed : { kind: 'cpu' };
}

/** @internal The CUDA index of a device string 'cuda:N'. */
export function deviceIndex(device: Device): number {
  return device === 'cpu' ? -1 : Number(device.slice(5));
}

/** The most elements one host tensor holds: V8's limit on a TypedArray's length. */
const MAX_HOST_ELEMENTS = 2 ** 32;

function newArray<D extends Dtype>(dtype: D, shape: readonly number[], size: number): TypedArrayFor<D> {
  if (size > MAX_HOST_ELEMENTS) {
    throw rangeError(`a shape of at most ${MAX_HOST_ELEMENTS} elements (one TypedArray)`, 'shape', `${formatShape(shape)} (${size} elements)`, false);
  }
  try {
    switch (dtype) {
      case 'float32':
        return new Float32Array(size) as TypedArrayFor<D>;
      case 'float64':
        return new Float64Array(size) as TypedArrayFor<D>;
      default:
        return new Uint16Array(size) as TypedArrayFor<D>;
    }
  } catch (cause) {
    const bytes = size * DTYPE_BYTES[dtype];
    throw new RangeError(
      `Expected a shape whose ${bytes} bytes of host memory can be allocated for shape but received ${formatShape(shape)} (${(cause as Error).message})`,
      { cause },
    );
  }
}

function checkDtype(dtype: unknown): Dtype {
  if (!isDtype(dtype)) {
    throw typeof dtype === 'string'
      ? rangeError("one of 'float32', 'float64', 'float16', 'bfloat16'", 'dtype', dtype)
      : typeError("one of 'float32', 'float64', 'float16', 'bfloat16'", 'dtype', dtype);
  }
  return dtype;
}

/**
 * An n-dimensional tensor, row-major, with a dtype and a device.
 *
 * Host tensors (`device: 'cpu'`): `Tensor.from` borrows the caller's TypedArray without copying;
 * the tensor reads (and, for outputs, writes) the very same memory.
 *
 * Device tensors (`device: 'cuda:N'`, CUDA builds): `Tensor.empty(shape, dtype, 'cuda:0')`,
 * `tensor.to('cuda:0')` (a copy), results of a computation on device inputs, or
 * `Tensor.fromDevicePointer` (memory another library owns, borrowed). `data` throws on them: read
 * them with `to('cpu')` or `await toAsync('cpu')`. `dispose()` (or `using`) frees the memory otca
 * owns at once; a finalizer frees it otherwise, and V8 is told its size.
 *
 * @typeParam D - the element type; `data` is {@link TypedArrayFor}<D>.
 * @example
 * ```ts
 * const rewards = Tensor.from(new Float32Array(N * K), [N, K]);            // float32, inferred
 * // `using`: TypeScript 5.2+ or Node 24+ (else `const`, and `latents.dispose()` when done)
 * using latents = Tensor.from(bits, [N, T + 1, D], 'bfloat16').to('cuda:0'); // a device copy
 * const out = otcaAdvantages({ rewards, latents, groupSize: G });           // runs on cuda:0
 * const adv = out.advantages.to('cpu').data;                                // Float32Array [N, T]
 * out.advantages.dispose();
 * ```
 */
export class Tensor<D extends Dtype = Dtype> {
  /** The element type. */
  readonly dtype: D;
  /** The dimensions, row-major, frozen. */
  readonly shape: readonly number[];
  /** Where the memory lives: `'cpu'` or `'cuda:N'`. */
  readonly device: Device;
  /** The number of elements (the product of `shape`). */
  readonly size: number;
  #data: TypedArrayFor<D> | null;
  #buffer: NativeDeviceBuffer | null;
  #disposed = false;
  /** What a borrowed device tensor keeps referenced (the owner of the memory). */
  #keepAlive: unknown;

  private constructor(
    data: TypedArrayFor<D> | null,
    buffer: NativeDeviceBuffer | null,
    shape: readonly number[],
    dtype: D,
    device: Device,
    keepAlive?: unknown,
  ) {
    this.#data = data;
    this.#buffer = buffer;
    this.#keepAlive = keepAlive;
    this.shape = shape;
    this.dtype = dtype;
    this.device = device;
    let size = 1;
    for (let k = 0; k < shape.length; k++) size *= shape[k] as number;
    this.size = size;
  }

  /**
   * A host tensor over `data` (no copy). The dtype follows from the array where it can: a
   * Float32Array is `float32`, a Float64Array `float64`; a Uint16Array needs `'float16'` or
   * `'bfloat16'`. `data.length` must equal the product of `shape`.
   * @throws TypeError where the array kind and dtype disagree; RangeError where the shape does not
   *   fit the length or has a dimension that is not an integer >= 0.
   * @example
   * ```ts
   * const t = Tensor.from(new Float32Array(6), [2, 3]);
   * t.data[4] = 1;  // writes the caller's array
   * ```
   */
  static from(data: Float32Array, shape: readonly number[], dtype?: 'float32'): Tensor<'float32'>;
  static from(data: Float64Array, shape: readonly number[], dtype?: 'float64'): Tensor<'float64'>;
  static from<H extends 'float16' | 'bfloat16'>(data: Uint16Array, shape: readonly number[], dtype: H): Tensor<H>;
  static from<T extends Dtype>(data: TypedArrayFor<T>, shape: readonly number[], dtype: T): Tensor<T>;
  static from(data: ArrayBufferView, shape: readonly number[], dtype?: Dtype): Tensor {
    if (!ArrayBuffer.isView(data) || data instanceof DataView) {
      throw typeError('Float32Array, Float64Array or Uint16Array', 'data', data);
    }
    let resolved: Dtype;
    if (dtype === undefined) {
      const inferred = inferDtype(data);
      if (inferred === undefined) {
        if (types.isUint16Array(data)) {
          throw typeError("dtype 'float16' or 'bfloat16' (a Uint16Array holds raw bits)", 'dtype', dtype);
        }
        throw typeError('Float32Array, Float64Array or Uint16Array', 'data', data);
      }
      resolved = inferred;
    } else {
      resolved = checkDtype(dtype);
      if (!arrayMatchesDtype(data, resolved)) {
        throw typeError(`${arrayNameFor(resolved)} for dtype '${resolved}'`, 'data', data);
      }
    }
    if (isDetached(data)) {
      throw typeError('a live (not detached) buffer', 'data', 'a detached ArrayBuffer', false);
    }
    const dims = checkShape(shape, 'shape');
    const size = dims.reduce((a, b) => a * b, 1);
    const length = (data as Float32Array).length;
    if (size !== length) {
      throw rangeError(`a shape whose size equals data.length (${length})`, 'shape', `${formatShape(dims)} (size ${size})`, false);
    }
    return new Tensor(data as TypedArrayFor<Dtype>, null, dims, resolved, 'cpu');
  }

  /**
   * A new tensor of `shape` and `dtype` on `device`: zero-filled host memory for `'cpu'`,
   * uninitialised device memory (owned by the tensor) for `'cuda'` / `'cuda:N'`.
   * @throws DeviceUnavailableError where CUDA is asked for and cannot be used (the reason is in the
   *   message); RangeError for a device index past the last device or a bad shape.
   * @example
   * ```ts
   * using out = Tensor.empty([N, T], 'float32', 'cuda:0'); // TypeScript 5.2+ or Node 24+; else const + out.dispose()
   * ```
   */
  static empty<T extends Dtype = 'float32'>(shape: readonly number[], dtype?: T, device: Device | 'cuda' = 'cpu'): Tensor<T> {
    const dt = checkDtype(dtype ?? 'float32') as T;
    const dims = checkShape(shape, 'shape');
    const where = tensorDevice(device, 'device');
    const size = dims.reduce((a, b) => a * b, 1);
    if (where.kind === 'cpu') return new Tensor<T>(newArray(dt, dims, size), null, dims, dt, 'cpu');
    const [buffer] = native().deviceAlloc(where.index, [size * DTYPE_BYTES[dt]]);
    return new Tensor<T>(null, buffer as NativeDeviceBuffer, dims, dt, `cuda:${where.index}`);
  }

  /**
   * A device tensor over memory another library allocated (PyTorch, CuPy, a custom allocator):
   * `pointer` is its device address, `shape` and `dtype` describe it (row-major, contiguous).
   * otca never frees it; `keepAlive` (any object, e.g. the owner) stays referenced for as long as
   * this tensor lives, and is dropped by `dispose()`. The memory must stay valid meanwhile.
   * @example
   * ```ts
   * const z = Tensor.fromDevicePointer(BigInt(ptr), [N, T + 1, D], 'bfloat16', 'cuda:0', owner);
   * ```
   */
  static fromDevicePointer<T extends Dtype>(
    pointer: bigint,
    shape: readonly number[],
    dtype: T,
    device: Device | 'cuda',
    keepAlive?: unknown,
  ): Tensor<T> {
    if (typeof pointer !== 'bigint') throw typeError('bigint (a device address)', 'pointer', pointer);
    if (pointer <= 0n || pointer >= 1n << 64n) throw rangeError('a non-zero 64-bit device address', 'pointer', pointer);
    const dims = checkShape(shape, 'shape');
    const dt = checkDtype(dtype) as T;
    const where = tensorDevice(device, 'device');
    if (where.kind === 'cpu') throw rangeError("'cuda' or 'cuda:N' (a device pointer)", 'device', device);
    const bytes = dims.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dt];
    const buffer = native().deviceBorrow(where.index, pointer, bytes);
    return new Tensor<T>(null, buffer, dims, dt, `cuda:${where.index}`, keepAlive);
  }

  /**
   * The elements as a TypedArray (the very memory a host tensor views).
   * @throws Error on a disposed tensor, and on a device tensor (use `to('cpu')` or `toAsync('cpu')`).
   */
  get data(): TypedArrayFor<D> {
    if (!(#disposed in this)) throw forgedReceiver('data');
    if (this.#disposed) throw this.#disposedError('read its data');
    if (this.#data === null) {
      throw new Error(
        `${this.#describe()} lives on ${this.device}: data is host memory only; use to('cpu') (or await toAsync('cpu')) for a host copy`,
      );
    }
    return this.#data;
  }

  /** The device address of a device tensor (for other libraries), as a bigint. */
  get devicePointer(): bigint {
    if (!(#disposed in this)) throw forgedReceiver('devicePointer');
    if (this.#disposed) throw this.#disposedError('read its device pointer');
    if (this.#buffer === null) {
      throw new TypeError(`${this.#describe()} is a host tensor: devicePointer exists for device tensors only`);
    }
    return native().devicePointer(this.#buffer);
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    if (!(#disposed in this)) throw forgedReceiver('disposed');
    return this.#disposed;
  }

  /** The number of dimensions (`shape.length`). */
  get rank(): number {
    if (!(#disposed in this)) throw forgedReceiver('rank');
    return this.shape.length;
  }

  /**
   * This tensor on `device`: itself where it is there already (no copy), else a copy (host to
   * device, device to host, or between devices). Blocks until the copy is done; see {@link toAsync}.
   * @throws RangeError for a bad device string; DeviceUnavailableError where CUDA cannot be used;
   *   Error on a disposed tensor.
   */
  to(device: Device | 'cuda'): Tensor<D> {
    if (!(#disposed in this)) throw forgedReceiver('to');
    const where = tensorDevice(device, 'device');
    const target = this.#prepareCopy(where);
    if (target === this) return this;
    native().deviceCopy(target.#nativeBuffer(), this.#nativeBuffer());
    return target;
  }

  /**
   * {@link to} with the copy on the libuv thread pool: the event loop stays free, and both
   * tensors are held until the copy is done.
   * @example
   * ```ts
   * const host = await out.advantages.toAsync('cpu');
   * ```
   */
  async toAsync(device: Device | 'cuda'): Promise<Tensor<D>> {
    if (!(#disposed in this)) throw forgedReceiver('toAsync');
    const where = tensorDevice(device, 'device');
    const target = this.#prepareCopy(where);
    if (target === this) return this;
    try {
      await native().deviceCopyAsync(target.#nativeBuffer(), this.#nativeBuffer());
    } catch (e) {
      target.dispose();
      throw e;
    }
    return target;
  }

  /** The tensor a copy to `where` writes (this itself where no copy is needed). */
  #prepareCopy(where: { kind: 'cpu' } | { kind: 'cuda'; index: number }): Tensor<D> {
    if (this.#disposed) throw this.#disposedError('copy it');
    const targetDevice: Device = where.kind === 'cpu' ? 'cpu' : `cuda:${where.index}`;
    if (targetDevice === this.device) return this;
    return Tensor.empty(this.shape, this.dtype, targetDevice) as Tensor<D>;
  }

  /**
   * Releases the tensor. A device tensor frees the device memory it owns at once (borrowed memory
   * is never freed; its keepAlive is dropped); a host tensor drops its reference to the caller's
   * array. Idempotent; any use afterwards throws.
   */
  dispose(): void {
    if (!(#disposed in this)) throw forgedReceiver('dispose');
    if (this.#disposed) return;
    this.#disposed = true;
    const buffer = this.#buffer;
    this.#data = null;
    this.#buffer = null;
    this.#keepAlive = undefined;
    if (buffer !== null) native().deviceRelease(buffer);
  }

  /** `using t = ...` disposes at the end of the scope (`using` needs TypeScript 5.2+ (compiled down for Node 20 and 22) or, in plain JavaScript, Node 24+). */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal For error messages (an object made from Tensor.prototype says it is no Tensor). */
  [describeTag](): string {
    if (!Tensor._is(this)) return FORGED_TENSOR;
    return `Tensor(${this.dtype}, ${formatShape(this.shape)}${this.device === 'cpu' ? '' : ', ' + this.device}${this.#disposed ? ', disposed' : ''})`;
  }

  /** A one-line summary, e.g. `Tensor(float32, [12, 16], cpu)`. */
  toString(): string {
    if (!Tensor._is(this)) return FORGED_TENSOR;
    return `Tensor(${this.dtype}, ${formatShape(this.shape)}, ${this.device}${this.#disposed ? ', disposed' : ''})`;
  }

  #describe(): string {
    return `Tensor(${this.dtype}, ${formatShape(this.shape)}, ${this.device})`;
  }

  #disposedError(action: string): Error {
    const err = new Error(`${this.#describe()} was disposed; cannot ${action} (its memory is released)`);
    (err as Error & { code?: string }).code = 'OTCA_TENSOR_DISPOSED';
    return err;
  }

  /** The host array or device buffer the addon reads; throws on a disposed tensor. */
  #nativeBuffer(): TypedArrayFor<D> | NativeDeviceBuffer {
    if (this.#disposed) throw this.#disposedError('use it');
    return (this.#data ?? this.#buffer) as TypedArrayFor<D> | NativeDeviceBuffer;
  }

  /**
   * @internal Whether `value` is a Tensor that `from`, `empty`, `fromDevicePointer` or a call made
   * (not merely an object whose prototype is Tensor.prototype, which has none of a Tensor's state).
   */
  static _is(value: unknown): value is Tensor {
    return typeof value === 'object' && value !== null && #disposed in value;
  }

  /** @internal The host array or device buffer behind this tensor, for the addon. */
  static _native<T extends Dtype>(t: Tensor<T>): TypedArrayFor<T> | NativeDeviceBuffer {
    return t.#nativeBuffer();
  }

  /** @internal The host array of a host tensor, or null once disposed (no throw: the validation's fast path). */
  static _hostData<T extends Dtype>(t: Tensor<T>): TypedArrayFor<T> | null {
    return t.#data;
  }

  /** @internal A float32 host tensor over a fresh array (results). */
  static _wrapResult(data: Float32Array, shape: readonly number[]): Tensor<'float32'> {
    return new Tensor<'float32'>(data, null, Object.freeze(shape.slice()), 'float32', 'cpu');
  }

  /** @internal A float32 device tensor owning (a share of) `buffer` (results). */
  static _wrapDevice(buffer: NativeDeviceBuffer, shape: readonly number[], device: Device): Tensor<'float32'> {
    return new Tensor<'float32'>(null, buffer, Object.freeze([...shape]), 'float32', device);
  }
}

/** How an object made from Tensor.prototype (not by Tensor.from or Tensor.empty) is described. */
const FORGED_TENSOR = 'an object made from Tensor.prototype that is no Tensor (make one with Tensor.from or Tensor.empty)';

/** The error of a Tensor member used on an object made from Tensor.prototype (V8 would say "Cannot read private member"). */
function forgedReceiver(member: string): TypeError {
  return typeError('a Tensor (made by Tensor.from, Tensor.empty, Tensor.fromDevicePointer or a call)', `this of Tensor#${member}`, FORGED_TENSOR, false);
}

/** Whether `value` is a real {@link Tensor} (see Tensor._is); an object made from its prototype is not. */
export function isTensor(value: unknown): value is Tensor {
  return Tensor._is(value);
}

/** A frozen copy of `shape` after checking each dimension is an integer >= 0. */
function checkShape(shape: unknown, argument: string): readonly number[] {
  if (!Array.isArray(shape) && !(ArrayBuffer.isView(shape) && !(shape instanceof DataView))) {
    throw typeError('an array of dimensions', argument, shape);
  }
  const dims = Array.from(shape as ArrayLike<number>);
  dims.forEach((d, i) => {
    if (typeof d !== 'number') throw typeError('integer >= 0', `${argument}[${i}]`, d);
    if (!Number.isSafeInteger(d) || d < 0) throw rangeError('integer >= 0', `${argument}[${i}]`, d);
  });
  return Object.freeze(dims);
}
