import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { EbmError } from '@ebm/sdk';
import { ApiMetrics } from './api-metrics';
import { BearerAuth } from './bearer-auth';
import { DEFAULT_HEARTBEAT_MS, DEFAULT_SSE_BUFFER_LIMIT_BYTES, EventStreamHub } from './event-stream';
import { HttpError, toErrorResponse } from './http-errors';
import { DEFAULT_BODY_LIMIT_BYTES, sendJson } from './http-io';
import { matchRoute } from './router';
import type { HttpMethod, Route } from './router';
import { apiRoutes } from './routes';
import type { ApiLogger, RuntimeFacade } from './runtime-facade';

export interface ApiServerOptions {
  /** The bearer token every request must carry. Empty → E_USAGE: the API never runs unauthenticated. */
  readonly token: string;
  /** Receives one `http` line per request (method, path, route, status, ms) and the details of 500s. */
  readonly logger: ApiLogger;
  /** Default 15 s. */
  readonly heartbeatMs?: number;
  /** Unsent bytes an event-stream client may accumulate before it is disconnected. Default 1 MiB. */
  readonly sseBufferLimitBytes?: number;
  /** Largest request body. Default 64 KiB. */
  readonly bodyLimitBytes?: number;
}

export interface ApiServer {
  /** Binds (the configuration's address; 127.0.0.1 by default). Port 0 picks a free port. */
  listen(host?: string, port?: number): Promise<{ host: string; port: number }>;
  /** Ends event streams cleanly, stops accepting, waits for open requests (force-closes after 2 s). Idempotent. */
  close(): Promise<void>;
  /** The method + path templates served (docs/openapi.yaml documents exactly these). */
  readonly routes: readonly { readonly method: HttpMethod; readonly path: string }[];
}

const FORCE_CLOSE_AFTER_MS = 2000;

/** The HTTP API of `ebm serve` (docs/openapi.yaml), over node:http. */
export function createApiServer(facade: RuntimeFacade, options: ApiServerOptions): ApiServer {
  const auth = new BearerAuth(options.token);
  const { logger } = options;
  const events = new EventStreamHub(facade.events, {
    heartbeatMs: positive(options.heartbeatMs, DEFAULT_HEARTBEAT_MS, 'heartbeatMs'),
    bufferLimitBytes: positive(options.sseBufferLimitBytes, DEFAULT_SSE_BUFFER_LIMIT_BYTES, 'sseBufferLimitBytes'),
    logger,
  });
  const metrics = new ApiMetrics(facade, () => events.clientCount);
  const routes: readonly Route[] = apiRoutes({
    facade, events, metrics, bodyLimitBytes: positive(options.bodyLimitBytes, DEFAULT_BODY_LIMIT_BYTES, 'bodyLimitBytes'),
  });

  const server = http.createServer((req, res) => void handle(req, res));
  let closing: Promise<void> | undefined;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const url = parseUrl(req.url);
    let route = 'unmatched';
    res.once('close', () => {
      // One access-log line per request, also for event streams (when they end). Never the query or headers.
      const ms = Math.round((performance.now() - started) * 10) / 10;
      logger.info('http', { method, path: url.pathname, route, status: res.statusCode, ms });
      metrics.countRequest(route, res.statusCode);
    });
    try {
      if (closing) throw new HttpError(503, 'E_CANCELLED', 'the HTTP API is shutting down', { Connection: 'close' }, 'retry when the host is back');
      auth.check(req);
      const match = matchRoute(routes, method, url.pathname);
      route = match.route.path;
      await match.route.handler({ req, res, params: match.params, query: url.searchParams });
    } catch (err) {
      const response = toErrorResponse(err);
      if (response.internal) {
        logger.error('http request failed', {
          method, path: url.pathname, route, code: response.body.error.code,
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
          stack: err instanceof Error && err.stack ? err.stack : '',
        });
      }
      if (res.headersSent) res.destroy();
      else sendJson(res, response.status, response.body, response.headers);
    }
  }

  return {
    routes: routes.map(({ method, path }) => ({ method, path })),

    listen(host = '127.0.0.1', port = 0) {
      return new Promise((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          reject(new EbmError('E_USAGE', `the HTTP API cannot listen on ${host}:${port}: ${err.code ?? err.message}`, { cause: err, op: 'listen' }));
        };
        server.once('error', onError);
        server.listen({ host, port }, () => {
          server.off('error', onError);
          const address = server.address() as AddressInfo;
          resolve({ host: address.address, port: address.port });
        });
      });
    },

    close() {
      closing ??= (async () => {
        await events.closeAll();
        await new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          const force = setTimeout(() => server.closeAllConnections(), FORCE_CLOSE_AFTER_MS);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
      })();
      return closing;
    },
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new EbmError('E_USAGE', `API option ${name} must be a positive number, got ${value}`);
  return value;
}

/** The request target as a URL; a target that does not parse becomes one that no route matches (404, not a crash). */
function parseUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return new URL('http://localhost/.invalid-request-target');
  }
}
