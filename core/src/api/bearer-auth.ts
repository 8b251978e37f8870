import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { EbmError } from '@ebm/sdk';
import { catalogueCode, HttpError } from './http-errors';

/**
 * Bearer-token authentication (RFC 6750) for every route, /metrics included.
 * The token is compared in constant time: both sides are hashed first so that
 * neither the comparison nor an early length mismatch reveals a prefix.
 */
export class BearerAuth {
  readonly #digest: Buffer;

  constructor(token: string) {
    if (typeof token !== 'string' || token.trim() === '') {
      throw new EbmError('E_USAGE', 'the HTTP API needs a bearer token and none is configured: set EBM_API_TOKEN (or the variable named by api.tokenEnv, or api.tokenFile in the host configuration)');
    }
    this.#digest = sha256(token);
  }

  /** Throws a 401 HttpError unless the request carries `Authorization: Bearer <token>`. */
  check(req: IncomingMessage): void {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw unauthorized('missing bearer token: send "Authorization: Bearer <token>"', 'Bearer realm="ebm"');
    if (!timingSafeEqual(sha256(match[1]!), this.#digest)) {
      throw unauthorized('invalid bearer token', 'Bearer realm="ebm", error="invalid_token"');
    }
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function unauthorized(message: string, challenge: string): HttpError {
  return new HttpError(401, catalogueCode('E_UNAUTHORIZED', 'E_USAGE'), message, { 'WWW-Authenticate': challenge },
    'send the token the host reads from EBM_API_TOKEN (or api.tokenEnv / api.tokenFile of its configuration)');
}
