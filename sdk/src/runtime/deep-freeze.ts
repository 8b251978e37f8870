/**
 * Freezes a plain-data value and everything reachable from it, so a plugin
 * that mutates what it was given fails loudly (TypeError in strict mode)
 * instead of corrupting shared state. Typed arrays cannot be frozen and are
 * left as they are.
 */
export function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || seen.has(value)) return value;
  seen.add(value);
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
  return value;
}
