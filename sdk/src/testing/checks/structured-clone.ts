import { EbmError, isEbmError } from '../../errors/ebm-error';
import type { ErrorRecord } from '../../errors/ebm-error';
import { CheckFailed } from '../conformance-failure';

/**
 * `value` must be plain data — what survives a structured clone (a worker
 * boundary, later a network) unchanged: primitives, arrays, plain objects,
 * byte arrays. A class instance, a Map, a Date, a function or a symbol does
 * not come out as it went in. The check looks at prototypes by name, so it
 * works whichever realm (test sandbox or Node's own) built the objects.
 */
export function expectClones(value: unknown, what: string): void {
  const problem = plainDataProblem(value, '', new Set());
  if (problem !== undefined) throw new CheckFailed(`${what} does not survive a structured clone unchanged: ${problem}`);
  try {
    structuredClone(value);
  } catch (err) {
    throw new CheckFailed(`${what} cannot be structured-cloned: ${(err as Error).message}`);
  }
}

function plainDataProblem(value: unknown, at: string, seen: Set<object>): string | undefined {
  const where = at === '' ? 'the value' : at;
  if (value === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof value)) return undefined;
  if (typeof value !== 'object') return `${where} is a ${typeof value}`;
  if (ArrayBuffer.isView(value)) return undefined;
  if (seen.has(value)) return undefined;
  seen.add(value);
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  const kind = proto === null ? 'Object' : proto.constructor?.name;
  if (kind !== 'Object' && kind !== 'Array') return `${where} is a ${kind ?? 'non-plain object'}, not plain data`;
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key === 'symbol') return `${where} has a symbol key`;
    const problem = plainDataProblem((value as Record<string, unknown>)[key], at === '' ? key : `${at}.${key}`, seen);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * An error record must be plain data and rebuild into an EbmError with the
 * same code, message, plugin and operation after a structured clone.
 */
export function expectErrorSurvives(record: ErrorRecord, what: string): void {
  expectClones(record, what);
  const rebuilt = EbmError.fromRecord(structuredClone(record));
  if (!isEbmError(rebuilt) || rebuilt.code !== record.code || rebuilt.message !== record.message || rebuilt.plugin !== record.plugin || rebuilt.op !== record.op) {
    throw new CheckFailed(`${what} does not rebuild into the same EbmError after a structured clone`);
  }
}
