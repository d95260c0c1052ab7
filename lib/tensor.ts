/**
 * The zero-copy Tensor: a typed, shaped view of memory the caller owns.
 * @packageDocumentation
 */
import {
  arrayMatchesDtype,
  arrayNameFor,
  inferDtype,
  isDtype,
  type Dtype,
  type TypedArrayFor,
} from './dtypes.js';
import { describeTag, formatShape, isDetached, rangeError, typeError, DeviceUnavailableError } from './errors.js';

/**
 * Where a tensor's memory lives: `'cpu'` (host memory, a TypedArray) or `'cuda:N'` (device N).
 * Device tensors arrive with the CUDA backend.
 */
export type Device = 'cpu' | `cuda:${number}`;

/** A device request in an API call: `'auto'`, `'cpu'`, `'cuda'` (the first device) or `'cuda:N'`. */
export type DeviceRequest = 'auto' | 'cpu' | 'cuda' | `cuda:${number}`;

/** @internal Parses `'cpu' | 'cuda' | 'cuda:N' | 'auto'`; undefined where the string is none of them. */
export function parseDevice(value: string): { kind: 'auto' | 'cpu' } | { kind: 'cuda'; index: number } | undefined {
  if (value === 'auto' || value === 'cpu') return { kind: value };
  if (value === 'cuda') return { kind: 'cuda', index: 0 };
  const m = /^cuda:(0|[1-9][0-9]{0,3})$/.exec(value);
  return m ? { kind: 'cuda', index: Number(m[1]) } : undefined;
}

/** @internal The error for a CUDA request before the CUDA backend exists in this build. */
export function cudaUnavailable(what: string, reason: string): Error {
  const err = new DeviceUnavailableError(`CUDA backend not available: ${reason} (asked for ${what}); use device 'cpu' or 'auto'`);
  (err as Error & { code?: string }).code = 'OTCA_CUDA_UNAVAILABLE';
  return err;
}

/**
 * An n-dimensional view of typed memory, row-major, with a dtype and a device.
 *
 * `Tensor.from` borrows the caller's TypedArray without copying: the tensor reads (and, for
 * outputs, writes) the very same memory. `shape` is frozen. Results of otca's calls are
 * `Tensor<'float32'>` over fresh Float32Arrays.
 *
 * @typeParam D - the element type; `data` is {@link TypedArrayFor}<D>.
 * @example
 * ```ts
 * const rewards = Tensor.from(new Float32Array(N * K), [N, K]);            // float32, inferred
 * const latents = Tensor.from(bits, [N, T + 1, D], 'bfloat16');             // bits: Uint16Array
 * latents.shape;  // readonly [N, T + 1, D]
 * ```
 */
export class Tensor<D extends Dtype = Dtype> {
  /** The element type. */
  readonly dtype: D;
  /** The dimensions, row-major, frozen. */
  readonly shape: readonly number[];
  /** Where the memory lives; `'cpu'` for every tensor until the CUDA backend. */
  readonly device: Device;
  /** The number of elements (the product of `shape`). */
  readonly size: number;
  #data: TypedArrayFor<D> | null;

  private constructor(data: TypedArrayFor<D>, shape: readonly number[], dtype: D, device: Device) {
    this.#data = data;
    this.shape = shape;
    this.dtype = dtype;
    this.device = device;
    this.size = shape.reduce((a, b) => a * b, 1);
  }

  /**
   * A tensor over `data` (no copy). The dtype follows from the array where it can: a Float32Array
   * is `float32`, a Float64Array `float64`; a Uint16Array needs `'float16'` or `'bfloat16'`.
   * `data.length` must equal the product of `shape`.
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
        if (data instanceof Uint16Array) {
          throw typeError("dtype 'float16' or 'bfloat16' (a Uint16Array holds raw bits)", 'dtype', dtype);
        }
        throw typeError('Float32Array, Float64Array or Uint16Array', 'data', data);
      }
      resolved = inferred;
    } else {
      if (!isDtype(dtype)) {
        throw typeof dtype === 'string'
          ? rangeError("one of 'float32', 'float64', 'float16', 'bfloat16'", 'dtype', dtype)
          : typeError("one of 'float32', 'float64', 'float16', 'bfloat16'", 'dtype', dtype);
      }
      if (!arrayMatchesDtype(data, dtype)) {
        throw typeError(`${arrayNameFor(dtype)} for dtype '${dtype}'`, 'data', data);
      }
      resolved = dtype;
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
    return new Tensor(data as TypedArrayFor<Dtype>, dims, resolved, 'cpu');
  }

  /**
   * The elements as a TypedArray (the very memory the tensor views).
   * @throws Error on a disposed tensor (and, with the CUDA backend, on a device tensor: use `to('cpu')`).
   */
  get data(): TypedArrayFor<D> {
    if (this.#data === null) throw new Error(`This Tensor ${formatShape(this.shape)} was disposed; its data is gone`);
    return this.#data;
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.#data === null;
  }

  /** The number of dimensions (`shape.length`). */
  get rank(): number {
    return this.shape.length;
  }

  /**
   * This tensor on `device`. `'cpu'` returns this very tensor (no copy). CUDA devices need the
   * CUDA backend; until then they throw.
   */
  to(device: Device | 'cuda'): Tensor<D> {
    if (typeof device !== 'string') throw typeError("'cpu' or 'cuda:N'", 'device', device);
    const parsed = parseDevice(device);
    if (parsed === undefined || parsed.kind === 'auto') {
      throw rangeError("'cpu', 'cuda' or 'cuda:N'", 'device', device);
    }
    if (this.#data === null) throw new Error(`This Tensor ${formatShape(this.shape)} was disposed`);
    if (parsed.kind === 'cpu') return this;
    throw cudaUnavailable(device, 'device tensors arrive with the CUDA backend, which this build does not have');
  }

  /**
   * Releases the tensor: a host tensor drops its reference to the caller's array (the memory is
   * the caller's); a device tensor (CUDA backend) frees its device memory at once. Idempotent.
   */
  dispose(): void {
    this.#data = null;
  }

  /** `using t = Tensor.from(...)` disposes at the end of the scope. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal For error messages. */
  [describeTag](): string {
    return `Tensor(${this.dtype}, ${formatShape(this.shape)}${this.device === 'cpu' ? '' : ', ' + this.device})`;
  }

  /** A one-line summary, e.g. `Tensor(float32, [12, 16], cpu)`. */
  toString(): string {
    return `Tensor(${this.dtype}, ${formatShape(this.shape)}, ${this.device})`;
  }

  /** @internal A float32 host tensor over a fresh array (results). */
  static _wrapResult(data: Float32Array, shape: readonly number[]): Tensor<'float32'> {
    return new Tensor<'float32'>(data, Object.freeze([...shape]), 'float32', 'cpu');
  }
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
