import { ERROR_CATALOGUE, isEbmError, isErrorCode } from '@ebm/sdk';
import type { ErrorCode } from '@ebm/sdk';

/**
 * How the API reports failures: an HTTP status and the body
 * `{ "error": { "code", "message", "hint" } }` — a catalogue code, a message
 * naming the thing at fault, the catalogue's hint. Never a stack.
 */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly hint: string };
}

/** Catalogue codes that are the client's fault, a conflict or a host that cannot take work now; other E_INVALID_* are 400, everything else 500. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  E_USAGE: 400,
  E_INVALID_OPTION: 400,
  E_INVALID_SOURCE: 400,
  E_AMBIGUOUS_ID: 400,
  E_UNSAFE_PATH: 400,
  E_SNAPSHOT_NOT_FOUND: 404,
  E_PATH_NOT_IN_SNAPSHOT: 404,
  E_PLUGIN_NOT_FOUND: 404,
  // Proposed codes (see the API report); mapped here so they work once the catalogue has them.
  E_UNAUTHORIZED: 401,
  E_JOB_NOT_FOUND: 404,
  E_DATASET_NOT_FOUND: 404,
  E_REPOSITORY_LOCKED: 409,
  E_TARGET_NOT_EMPTY: 409,
  // The host cannot take the work: it is stopping, or the queue refused the job (full, or bigger than the budgets; the message says which).
  E_HOST_SHUTTING_DOWN: 503,
  E_JOB_REJECTED: 503,
};

/**
 * `proposed` when the catalogue has it, else `fallback`. Lets the API use
 * codes the lead adds to the catalogue without a type lie in the meantime.
 */
export function catalogueCode(proposed: string, fallback: ErrorCode): ErrorCode {
  return isErrorCode(proposed) ? proposed : fallback;
}

/** An error the API itself raises (authentication, routing, body parsing, lookups). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers (WWW-Authenticate, Allow). */
    readonly headers: Readonly<Record<string, string>> = {},
    /** Replaces the catalogue's hint when the API knows better. */
    readonly hintOverride?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function notFound(what: 'job' | 'dataset', name: string): HttpError {
  const code = catalogueCode(what === 'job' ? 'E_JOB_NOT_FOUND' : 'E_DATASET_NOT_FOUND', 'E_USAGE');
  const hint = what === 'job' ? 'see GET /api/v1/jobs' : 'see the datasets of GET /api/v1/status (configured in the host configuration)';
  return new HttpError(404, code, `no ${what} named ${JSON.stringify(name)}`, {}, hint);
}

export function badRequest(message: string): HttpError {
  return new HttpError(400, 'E_USAGE', message, {}, 'see docs/openapi.yaml for the request format');
}

export interface ErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ErrorBody;
  /** True when the error is not the client's: the server logs it with its stack. */
  readonly internal: boolean;
}

/** Maps anything thrown by a handler to the response the client gets. */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof HttpError) {
    return { status: err.status, headers: err.headers, body: body(err.code, err.message, err.hintOverride), internal: false };
  }
  if (isEbmError(err)) {
    const status = STATUS_BY_CODE[err.code] ?? (err.code.startsWith('E_INVALID_') ? 400 : 500);
    return { status, headers: {}, body: body(err.code, err.message), internal: status === 500 };
  }
  // Not an ebm error: a bug. The client learns only that; the log has the details.
  return { status: 500, headers: {}, body: body('E_INTERNAL', 'internal error in the ebm host; the host log has the details'), internal: true };
}

function body(code: ErrorCode, message: string, hint?: string): ErrorBody {
  return { error: { code, message, hint: hint ?? ERROR_CATALOGUE[code].hint } };
}
