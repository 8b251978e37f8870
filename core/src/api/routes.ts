import { TERMINAL_STATES } from '../jobs/job-types';
import type { ApiMetrics } from './api-metrics';
import type { EventStreamHub } from './event-stream';
import { badRequest, catalogueCode, HttpError, notFound } from './http-errors';
import { readJsonBody, sendJson } from './http-io';
import {
  parseApplyRetention, parseBrowseQuery, parseDiscoveryFilesQuery, parseDiscoveryFilter, parseEmptyBody, parseEventFilter, parseJobFilter, parseSnapshotFilter, parseSnapshotSelector, parseStartRestore,
  parseStartVerify, parseTriggerBackup,
} from './request-validation';
import type { Route } from './router';
import type { RuntimeFacade } from './runtime-facade';

export interface RouteDeps {
  readonly facade: RuntimeFacade;
  readonly events: EventStreamHub;
  readonly metrics: ApiMetrics;
  readonly bodyLimitBytes: number;
}

/**
 * The route table of the API. docs/openapi.yaml documents exactly these
 * method + path pairs (a test checks both directions). Every route requires
 * the bearer token (checked before routing).
 */
export function apiRoutes(deps: RouteDeps): Route[] {
  const { facade } = deps;
  const body = (req: Parameters<Route['handler']>[0]['req']): Promise<unknown> => readJsonBody(req, deps.bodyLimitBytes);
  return [
    {
      method: 'GET', path: '/api/v1/status',
      handler: async ({ res, query }) => {
        noQuery(query);
        sendJson(res, 200, await facade.status());
      },
    },
    {
      method: 'GET', path: '/api/v1/jobs',
      handler: async ({ res, query }) => sendJson(res, 200, { jobs: await facade.listJobs(parseJobFilter(query)) }),
    },
    {
      method: 'GET', path: '/api/v1/jobs/{id}',
      handler: async ({ res, params, query }) => {
        noQuery(query);
        const job = await facade.getJob(params.id!);
        if (!job) throw notFound('job', params.id!);
        sendJson(res, 200, job);
      },
    },
    {
      // Cancelling is an action on a job that stays listed, so POST …/cancel rather than DELETE.
      method: 'POST', path: '/api/v1/jobs/{id}/cancel',
      handler: async ({ req, res, params, query }) => {
        noQuery(query);
        await body(req);
        const job = await facade.cancelJob(params.id!);
        if (!job) throw notFound('job', params.id!);
        // 200: the job is finished (cancelled now, or had already ended); 202: a running job was asked to stop.
        sendJson(res, TERMINAL_STATES.includes(job.state) ? 200 : 202, job);
      },
    },
    {
      method: 'POST', path: '/api/v1/datasets/{name}/backup',
      handler: async ({ req, res, params, query }) => {
        noQuery(query);
        const options = parseTriggerBackup(await body(req));
        const job = await facade.triggerBackup(params.name!, options);
        if (!job) throw notFound('dataset', params.name!);
        sendJson(res, 202, job, { Location: `/api/v1/jobs/${encodeURIComponent(job.id)}` });
      },
    },
    {
      method: 'GET', path: '/api/v1/snapshots',
      handler: async ({ res, query }) => sendJson(res, 200, { snapshots: await facade.listSnapshots(parseSnapshotFilter(query)) }),
    },
    {
      method: 'GET', path: '/api/v1/snapshots/{id}/tree',
      handler: async ({ res, params, query }) => sendJson(res, 200, await facade.browse({ snapshot: params.id!, ...parseBrowseQuery(query) })),
    },
    {
      method: 'GET', path: '/api/v1/snapshots/{id}/layers',
      handler: async ({ res, params, query }) => sendJson(res, 200, await facade.listLayers({ snapshot: params.id!, ...parseSnapshotSelector(query) })),
    },
    {
      method: 'GET', path: '/api/v1/discoveries',
      handler: async ({ res, query }) => {
        const filter = parseDiscoveryFilter(query);
        const discoveries = await facade.listDiscoveries(filter);
        if (!discoveries) throw repositoryNotFound(filter.repository ?? '');
        sendJson(res, 200, { discoveries });
      },
    },
    {
      // endpoint → layer → files of a discovery: the layer provider is asked live (docs/layers.md, "Browsing").
      method: 'GET', path: '/api/v1/discoveries/files',
      handler: async ({ res, query }) => {
        const request = parseDiscoveryFilesQuery(query);
        // A client that goes away cancels the provider's query (its worker lets go).
        const gone = new AbortController();
        const onClose = (): void => {
          if (!res.writableFinished) gone.abort();
        };
        res.once('close', onClose);
        try {
          const result = await facade.discoveryFiles({ ...request, signal: gone.signal });
          if (!result.found) throw discoveryMissing(result.missing, result.message);
          sendJson(res, 200, result.listing);
        } finally {
          res.off('close', onClose);
        }
      },
    },
    {
      method: 'POST', path: '/api/v1/restores',
      handler: async ({ req, res, query }) => {
        noQuery(query);
        const job = await facade.startRestore(parseStartRestore(await body(req)));
        sendJson(res, 202, job, { Location: `/api/v1/jobs/${encodeURIComponent(job.id)}` });
      },
    },
    {
      method: 'POST', path: '/api/v1/verifications',
      handler: async ({ req, res, query }) => {
        noQuery(query);
        const request = parseStartVerify(await body(req));
        const job = await facade.startVerify(request);
        if (!job) throw repositoryNotFound(request.repository ?? '');
        sendJson(res, 202, job, { Location: `/api/v1/jobs/${encodeURIComponent(job.id)}` });
      },
    },
    {
      method: 'POST', path: '/api/v1/datasets/{name}/forget',
      handler: async ({ req, res, params, query }) => {
        noQuery(query);
        const job = await facade.applyRetention(params.name!, parseApplyRetention(await body(req)));
        if (!job) throw notFound('dataset', params.name!);
        sendJson(res, 202, job, { Location: `/api/v1/jobs/${encodeURIComponent(job.id)}` });
      },
    },
    {
      method: 'POST', path: '/api/v1/repositories/{name}/prune',
      handler: async ({ req, res, params, query }) => {
        noQuery(query);
        parseEmptyBody(await body(req));
        const job = await facade.startPrune(params.name!);
        if (!job) throw repositoryNotFound(params.name!);
        sendJson(res, 202, job, { Location: `/api/v1/jobs/${encodeURIComponent(job.id)}` });
      },
    },
    {
      method: 'GET', path: '/api/v1/events',
      handler: async ({ req, res, query }) => deps.events.open(req, res, parseEventFilter(query)),
    },
    {
      method: 'GET', path: '/metrics',
      handler: async ({ res, query }) => {
        noQuery(query);
        const { contentType, text } = await deps.metrics.render();
        res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
        res.end(text);
      },
    },
  ];
}

function repositoryNotFound(name: string): HttpError {
  return new HttpError(404, catalogueCode('E_REPOSITORY_NOT_FOUND', 'E_USAGE'), `no repository named ${JSON.stringify(name)}`, {}, 'see the repositories of GET /api/v1/status (configured in the host configuration)');
}

function discoveryMissing(what: 'repository' | 'discovery' | 'layer', message: string): HttpError {
  if (what === 'repository') return new HttpError(404, catalogueCode('E_REPOSITORY_NOT_FOUND', 'E_USAGE'), message, {}, 'see the repositories of GET /api/v1/status (configured in the host configuration)');
  const code = what === 'layer' ? catalogueCode('E_LAYER_NOT_FOUND', 'E_USAGE') : catalogueCode('E_DISCOVERY_NOT_FOUND', 'E_USAGE');
  const hint = what === 'layer' ? "see the layers of the discovery's report in GET /api/v1/discoveries" : 'see GET /api/v1/discoveries; record one with `ebm discover SOURCE -r REPO`';
  return new HttpError(404, code, message, {}, hint);
}

/** Unknown query parameters are rejected everywhere, so a typo never silently does nothing. */
function noQuery(query: URLSearchParams): void {
  const first = query.keys().next();
  if (!first.done) throw badRequest(`unknown query parameter ${JSON.stringify(first.value)} (this route takes none)`);
}
