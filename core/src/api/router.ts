import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, HttpError } from './http-errors';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export interface RouteContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Decoded `{name}` segments of the path template. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
}

export interface Route {
  readonly method: HttpMethod;
  /** Path template as in docs/openapi.yaml, e.g. `/api/v1/jobs/{id}/cancel`. */
  readonly path: string;
  readonly handler: (ctx: RouteContext) => Promise<void>;
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Finds the route for a request. A template segment `{name}` matches one
 * non-empty path segment (percent-decoded). No route has the path → 404; a
 * route has the path but not the method → 405 with `Allow`.
 */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): RouteMatch {
  const segments = pathname.split('/');
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchTemplate(route.path, segments);
    if (!params) continue;
    if (route.method === method) return { route, params };
    allowed.push(route.method);
  }
  if (allowed.length > 0) {
    return methodNotAllowed(method, pathname, allowed);
  }
  throw new HttpError(404, 'E_USAGE', `no API route ${JSON.stringify(pathname)}`, {}, 'see docs/openapi.yaml for the routes of the API');
}

function methodNotAllowed(method: string, pathname: string, allowed: readonly string[]): never {
  throw new HttpError(405, 'E_USAGE', `${method} is not allowed on ${pathname} (allowed: ${allowed.join(', ')})`, { Allow: allowed.join(', ') },
    'see docs/openapi.yaml for the methods of each route');
}

function matchTemplate(template: string, segments: readonly string[]): Record<string, string> | undefined {
  const parts = template.split('/');
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const segment = segments[i]!;
    if (part.startsWith('{') && part.endsWith('}')) {
      if (segment === '') return undefined;
      params[part.slice(1, -1)] = decodeSegment(segment);
    } else if (part !== segment) {
      return undefined;
    }
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`malformed percent-encoding in path segment ${JSON.stringify(segment)}`);
  }
}
