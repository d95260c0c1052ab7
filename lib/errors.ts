/**
 * Argument errors a person can act on: "Expected <expectation> for <argument> but received <value>".
 * `TypeError` for wrong kinds, `RangeError` for bad values and shapes.
 * @packageDocumentation
 */

/** @internal A short, readable rendering of what a caller passed, for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
      return String(value);
    case 'string':
      return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value);
    case 'symbol':
      return value.toString();
    case 'function':
      return `function ${(value as { name?: string }).name || '(anonymous)'}`;
  }
  if (Array.isArray(value)) return `Array(${value.length})`;
  if (isTfTensor(value)) {
    let what = 'a tf.Tensor';
    try {
      const { dtype, shape } = value as unknown as { dtype: unknown; shape: unknown };
      what += ` (${String(dtype)}, ${Array.isArray(shape) ? formatShape(shape) : '?'})`;
    } catch {
      // fields whose getters throw: the plain description
    }
    return `${what}; tfjs tensors go to otcaAdvantagesTf from 'otca/tfjs'`;
  }
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor?.name ?? 'ArrayBufferView';
    const length = (value as unknown as { length?: number }).length;
    return length === undefined ? name : `${name}(${length})`;
  }
  const described = (value as { [describeTag]?: () => string })[describeTag];
  if (typeof described === 'function') return described.call(value);
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? name : 'object';
}

/**
 * @internal Whether `value` looks like a tfjs tensor (`tf.Tensor`): own `dataId`, `shape` and
 * `dtype`, and a `dataSync` method. Duck-typed: otca never loads tfjs to ask.
 */
export function isTfTensor(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  try {
    return (
      Object.hasOwn(value, 'dataId') &&
      Object.hasOwn(value, 'shape') &&
      Object.hasOwn(value, 'dtype') &&
      typeof (value as { dataSync?: unknown }).dataSync === 'function'
    );
  } catch {
    return false; // a Proxy whose traps throw is no tf.Tensor
  }
}

/** @internal Objects (Tensor) may describe themselves for messages through this symbol. */
export const describeTag: unique symbol = Symbol('otca.describe');

/** @internal The message of an argument error. */
export function expectationMessage(expectation: string, argument: string, received: string): string {
  return `Expected ${expectation} for ${argument} but received ${received}`;
}

/** @internal A `TypeError` (wrong kind): `received` is a description, or any value to describe. */
export function typeError(expectation: string, argument: string, received: unknown, describe = true): TypeError {
  return new TypeError(
    expectationMessage(expectation, argument, describe ? describeValue(received) : String(received)),
  );
}

/** @internal A `RangeError` (bad value or shape). */
export function rangeError(expectation: string, argument: string, received: unknown, describe = true): RangeError {
  return new RangeError(
    expectationMessage(expectation, argument, describe ? describeValue(received) : String(received)),
  );
}

/** @internal Formats a shape as `[2, 3, 4]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * @internal Whether the buffer under a view was detached (transferred or freed). Node 20 has no
 * `ArrayBuffer.prototype.detached`; there `slice` on a detached buffer throws.
 */
export function isDetached(view: ArrayBufferView): boolean {
  const buffer = view.buffer as ArrayBuffer & { detached?: boolean };
  if (typeof buffer.detached === 'boolean') return buffer.detached;
  if (buffer.byteLength !== 0) return false;
  try {
    buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * The error thrown when a call asks for a CUDA device that this build or machine cannot use
 * (`device: 'cuda'`, `Tensor.empty(..., 'cuda:0')`, ...). Its `code` is `'OTCA_CUDA_UNAVAILABLE'` and
 * its message says why (no driver, no device, a build without CUDA).
 */
export class DeviceUnavailableError extends Error {
  /** `'DeviceUnavailableError'`. */
  override name = 'DeviceUnavailableError';
  /** `'OTCA_CUDA_UNAVAILABLE'`: the code to test for (`err.code === 'OTCA_CUDA_UNAVAILABLE'`). */
  readonly code = 'OTCA_CUDA_UNAVAILABLE';
}
