/**
 * @internal Reading what a caller passed without the prototype chain: a key that someone added to
 * `Object.prototype` (or `Array.prototype`) must never change a call or appear in a result.
 * @packageDocumentation
 */

/** `o[key]` where `o` has its own property `key`, else `undefined` (never an inherited value). */
export function own(o: object, key: PropertyKey): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? (o as Record<PropertyKey, unknown>)[key] : undefined;
}

/**
 * `o[key]` from `o` itself or from a prototype below `Object.prototype` (a class's accessor, such
 * as `Tensor#data`), never from `Object.prototype` or `Array.prototype` themselves.
 */
export function member(o: object, key: PropertyKey): unknown {
  for (let p: object | null = o; p !== null && p !== Object.prototype && p !== Array.prototype; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, key);
    if (d !== undefined) return d.get !== undefined ? d.get.call(o) : d.value;
  }
  return undefined;
}

/** Whether `o` has `key` itself or below `Object.prototype` (see {@link member}). */
export function hasMember(o: object, key: PropertyKey): boolean {
  for (let p: object | null = o; p !== null && p !== Object.prototype && p !== Array.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.prototype.hasOwnProperty.call(p, key)) return true;
  }
  return false;
}
