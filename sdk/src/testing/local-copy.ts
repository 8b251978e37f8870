/**
 * A deep copy of plain data (arrays, plain objects, primitives), built by
 * this module's code. What arrives through a MessagePort is built in Node's
 * main realm; under a test runner that runs tests in a vm context (jest) the
 * in-process runner's objects have that context's prototypes, and
 * isDeepStrictEqual calls equal answers different. Runners that rebuild
 * answers from another thread pass them through this first. Undefined-valued
 * keys are kept, as a structured clone keeps them.
 */
export function localCopy<T>(value: T): T {
  if (Array.isArray(value)) {
    const list: unknown[] = []; // not value.map(): that builds the copy with the original's (foreign) Array
    for (const v of value as unknown[]) list.push(localCopy(v));
    return list as unknown as T;
  }
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = localCopy(v);
  return out as T;
}
