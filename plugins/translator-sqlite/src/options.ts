import { EbmError, OptionValue } from '@ebm/sdk';

/**
 * This translator's options (declared in package.json's "ebm.options"; the CLI
 * turns each into a flag, e.g. `--busy-timeout 10000`). The host validates
 * types against the manifest; these parsers apply defaults and ranges, and a
 * direct caller that passes a wrong value gets E_INVALID_OPTION naming it.
 */

export type IntegrityCheck = 'quick' | 'full' | 'none';
/**
 * How a changed run is stored against its key image: 'patch' — the byte
 * ranges that differ (cheap; the default), 'deflate' — pages SQLite
 * rearranged are deflated against the key's neighbouring pages (smaller,
 * several times the CPU), 'off' — changed runs are stored whole as new key
 * images (no key image is read).
 */
export type PageDelta = 'patch' | 'deflate' | 'off';

export interface SqliteOptions {
  /** How long to wait for another process's lock before failing with E_SOURCE_BUSY / E_TARGET_IN_USE (ms). */
  readonly busyTimeoutMs: number;
  /** Bytes of consecutive pages stored together as one unit of reuse (rounded down to whole pages, at least one). */
  readonly runBytes: number;
  /**
   * SQLite's own check, run inside the backup's read transaction (default
   * 'quick') and on a restored file before it is put in place (default: 'none'
   * when the backup checked these very pages, 'quick' otherwise). Undefined
   * when the operator did not choose.
   */
  readonly integrityCheck: IntegrityCheck | undefined;
  readonly pageDelta: PageDelta;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
export const DEFAULT_RUN_BYTES = 256 * 1024;
/** Runs are read into memory whole; this keeps one run (and so the job's heap) bounded. */
export const MAX_RUN_BYTES = 16 * 1024 * 1024;
const MAX_BUSY_TIMEOUT_MS = 24 * 3600 * 1000;

export function parseOptions(raw: Readonly<Record<string, OptionValue>>): SqliteOptions {
  return {
    busyTimeoutMs: integer(raw, 'busy-timeout', DEFAULT_BUSY_TIMEOUT_MS, 0, MAX_BUSY_TIMEOUT_MS),
    runBytes: integer(raw, 'run-size', DEFAULT_RUN_BYTES, 512, MAX_RUN_BYTES),
    integrityCheck: oneOf(raw, 'integrity-check', ['quick', 'full', 'none'] as const),
    pageDelta: oneOf(raw, 'page-delta', ['patch', 'deflate', 'off'] as const) ?? 'patch',
  };
}

function integer(raw: Readonly<Record<string, OptionValue>>, name: string, fallback: number, min: number, max: number): number {
  const value = raw[name];
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new EbmError('E_INVALID_OPTION', `option --${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`, { subject: name });
  }
  return n;
}

function oneOf<T extends string>(raw: Readonly<Record<string, OptionValue>>, name: string, allowed: readonly T[]): T | undefined {
  const value = raw[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new EbmError('E_INVALID_OPTION', `option --${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, { subject: name });
}
