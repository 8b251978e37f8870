import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, HttpError } from './http-errors';

export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;
/** A chunked body over the limit is read and discarded up to this many limits, then the connection is closed. */
const DISCARD_FACTOR = 16;

/**
 * Reads a JSON request body of at most `limit` bytes. An empty body is `{}`
 * (every body field of the API is optional or checked by the route).
 * Too large → 413 (declared Content-Length checked before reading; a chunked
 * body is counted as it arrives and the rest is discarded unread); not JSON → 400.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const tooLarge = (): HttpError =>
    new HttpError(413, 'E_USAGE', `request body larger than ${limit} bytes`, { Connection: 'close' }, 'send a smaller request body');
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // drain what the client is still sending so it can read the 413
    throw tooLarge();
  }
  const type = req.headers['content-type'];
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) overflow = true;
    if (size > limit * DISCARD_FACTOR) {
      req.destroy(); // discarding this much is a waste of the host's time: hang up
      throw tooLarge();
    }
    if (!overflow) chunks.push(chunk);
  }
  if (overflow) throw tooLarge();
  if (size === 0) return {};
  if (type !== undefined && !/^application\/json\b/i.test(type)) {
    throw new HttpError(415, 'E_USAGE', `unsupported content type ${JSON.stringify(type)}`, {}, 'send the body as application/json');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw badRequest(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Sends a JSON response (never cached: every answer reflects the live host). */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}
