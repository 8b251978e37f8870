/**
 * Freezes a plain-data value and everything reachable from it, so a plugin
 * that mutates what it was given fails loudly (TypeError in strict mode)
 * instead of corrupting shared state. Typed arrays cannot be frozen and are
 * left as they are.
 */
/**
 * deepFreeze for freshly decoded JSON (a parent's tree entries): no typed
 * arrays and no cycles, so no bookkeeping of what was seen, which made
 * freezing a large parent tree a visible share of an incremental's time.
 * An object already frozen is taken as frozen throughout.
 */
export function deepFreezeJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreezeJson(value[i]);
  } else {
    for (const key in value) deepFreezeJson((value as Record<string, unknown>)[key]);
  }
  return value;
}

export function deepFreeze<T>(value: T, seen = new WeakSet<object>()): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || seen.has(value)) return value;
  seen.add(value);
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
  return value;
}
