import { ERROR_CATALOGUE, ErrorCode, isErrorCode } from './catalogue';

/**
 * The plain-data form of an error, the only form that crosses a worker or
 * network boundary. Never rely on `instanceof` across threads: rebuild with
 * `EbmError.fromRecord`.
 */
export interface ErrorRecord {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retryable: boolean;
  /** Plugin id, when the error came from (or is about) a plugin. */
  readonly plugin?: string;
  /** The operation that failed, e.g. 'backup', 'restore', 'load'. */
  readonly op?: string;
  /** The path, file or object at fault, when there is one. */
  readonly subject?: string;
  readonly stack?: string;
  readonly cause?: ErrorRecord;
}

export interface EbmErrorOptions {
  readonly plugin?: string;
  readonly op?: string;
  readonly subject?: string;
  readonly cause?: unknown;
  /** Overrides the catalogue's default. */
  readonly retryable?: boolean;
}

/** The typed error of ebm: every failure an operator can see is one of these. */
export class EbmError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly plugin?: string;
  readonly op?: string;
  readonly subject?: string;

  constructor(code: ErrorCode, message: string, options: EbmErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EbmError';
    this.code = code;
    this.retryable = options.retryable ?? ERROR_CATALOGUE[code].retryable;
    if (options.plugin !== undefined) this.plugin = options.plugin;
    if (options.op !== undefined) this.op = options.op;
    if (options.subject !== undefined) this.subject = options.subject;
  }

  /** The catalogue's hint: what the operator should do. */
  get hint(): string {
    return ERROR_CATALOGUE[this.code].hint;
  }

  get exitCode(): number {
    return ERROR_CATALOGUE[this.code].exitCode;
  }

  toRecord(): ErrorRecord {
    return toErrorRecord(this);
  }

  static fromRecord(record: ErrorRecord): EbmError {
    const err = new EbmError(isErrorCode(record.code) ? record.code : 'E_INTERNAL', String(record.message), {
      plugin: record.plugin,
      op: record.op,
      subject: record.subject,
      retryable: record.retryable,
      cause: record.cause ? EbmError.fromRecord(record.cause) : undefined,
    });
    if (record.stack) err.stack = record.stack;
    return err;
  }
}

/** Duck-typed check that works on errors from any realm or thread. */
export function isEbmError(value: unknown): value is EbmError {
  return value instanceof EbmError || (typeof value === 'object' && value !== null && (value as { name?: unknown }).name === 'EbmError' && isErrorCode((value as { code?: unknown }).code));
}

const NODE_CODE_MAP: Readonly<Record<string, ErrorCode>> = {
  ENOENT: 'E_SOURCE_NOT_FOUND',
  EACCES: 'E_PERMISSION',
  EPERM: 'E_PERMISSION',
  ENOSPC: 'E_DISK_FULL',
  EDQUOT: 'E_DISK_FULL',
  ABORT_ERR: 'E_CANCELLED',
  ERR_WORKER_OUT_OF_MEMORY: 'E_PLUGIN_OUT_OF_MEMORY',
};

/**
 * Converts anything thrown into a plain record. EbmErrors keep their code;
 * Node system errors are mapped by errno (ENOENT, EACCES, ENOSPC…); anything
 * else becomes `fallback` (E_INTERNAL by default) with the original as cause.
 */
export function toErrorRecord(err: unknown, fallback: ErrorCode = 'E_INTERNAL', depth = 0): ErrorRecord {
  if (isEbmError(err)) {
    const e = err as EbmError;
    return strip({
      code: e.code,
      message: e.message,
      retryable: e.retryable,
      plugin: e.plugin,
      op: e.op,
      subject: e.subject,
      stack: e.stack,
      cause: depth < 4 && e.cause !== undefined ? toErrorRecord(e.cause, 'E_INTERNAL', depth + 1) : undefined,
    });
  }
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err)) {
    const e = err as Error & { code?: unknown; path?: unknown };
    const mapped = typeof e.code === 'string' ? NODE_CODE_MAP[e.code] : undefined;
    if (e.name === 'AbortError') return { code: 'E_CANCELLED', message: e.message || 'cancelled', retryable: false };
    const code = mapped ?? fallback;
    return strip({
      code,
      message: String(e.message),
      retryable: ERROR_CATALOGUE[code].retryable,
      subject: typeof e.path === 'string' ? e.path : undefined,
      stack: typeof e.stack === 'string' ? e.stack : undefined,
    });
  }
  return { code: fallback, message: String(err), retryable: ERROR_CATALOGUE[fallback].retryable };
}

function strip(record: { [K in keyof ErrorRecord]: ErrorRecord[K] | undefined }): ErrorRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (v !== undefined) out[k] = v;
  return out as unknown as ErrorRecord;
}

/** Throws E_CANCELLED if the signal is aborted. Call it between units of work. */
export function throwIfCancelled(signal: AbortSignal | undefined, op?: string): void {
  if (signal?.aborted) throw new EbmError('E_CANCELLED', 'the operation was cancelled', { op });
}
