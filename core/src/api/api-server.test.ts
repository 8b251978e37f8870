import * as http from 'node:http';
import * as net from 'node:net';
import { EbmError } from '@ebm/sdk';
import type { JobRecord } from '../jobs/job-types';
import { createApiServer } from './api-server';
import type { ApiServer } from './api-server';
import { FakeRuntime } from './fake-runtime.test-support';
import { catalogueCode } from './http-errors';
import { eventually, memoryLogger, request, TOKEN } from './http-client.test-support';
import type { ErrorBody } from './http-errors';

/**
 * The API over real HTTP on 127.0.0.1 against an in-memory runtime (the
 * only fake here). The real runtime is wired by `ebm serve` and tested end to
 * end over HTTP in the host's own tests.
 */
describe('HTTP API', () => {
  let runtime: FakeRuntime;
  let logger: ReturnType<typeof memoryLogger>;
  let server: ApiServer;
  let port: number;

  beforeEach(async () => {
    runtime = new FakeRuntime();
    logger = memoryLogger();
    server = createApiServer(runtime, { token: TOKEN, logger, bodyLimitBytes: 64 * 1024 });
    ({ port } = await server.listen('127.0.0.1', 0));
  });

  afterEach(() => server.close());

  const error = (res: { json<T>(): T }): ErrorBody['error'] => res.json<ErrorBody>().error;

  describe('authentication', () => {
    it('refuses to start without a token', () => {
      expect(() => createApiServer(runtime, { token: '', logger })).toThrow(expect.objectContaining({ code: 'E_USAGE' }) as EbmError);
      expect(() => createApiServer(runtime, { token: '  ', logger })).toThrow(/EBM_API_TOKEN/);
    });

    it.each([
      ['no token', null],
      ['a wrong token', 'not-the-token'],
      ['a token that is a prefix of the right one', TOKEN.slice(0, -1)],
    ])('answers 401 with %s, on API routes, /metrics and unknown paths', async (_name, token) => {
      for (const path of ['/api/v1/status', '/api/v1/jobs', '/metrics', '/api/v1/events', '/nowhere']) {
        const res = await request(port, path, { token });
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="ebm"/);
        expect(error(res).code).toBe(catalogueCode('E_UNAUTHORIZED', 'E_USAGE'));
        expect(error(res).message).toMatch(/bearer token/);
      }
      const trigger = await request(port, '/api/v1/datasets/home/backup', { method: 'POST', token, body: {} });
      expect(trigger.status).toBe(401);
      expect(runtime.jobs.size).toBe(0);
    });

    it('rejects a non-Bearer scheme', async () => {
      const res = await request(port, '/api/v1/status', { token: null, headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
      expect(res.status).toBe(401);
    });

    it('answers 200 with the token', async () => {
      const res = await request(port, '/api/v1/status');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json()).toMatchObject({ version: '0.1.0', queue: { queued: 1 }, datasets: [{ name: 'home', nextRunAt: '2024-05-03T02:00:00.000Z' }] });
    });
  });

  describe('jobs', () => {
    it('triggers a backup: 202 with the job, which then appears in /jobs and /jobs/{id}', async () => {
      const res = await request(port, '/api/v1/datasets/home/backup', { method: 'POST', body: { full: true, tags: ['manual'] } });
      expect(res.status).toBe(202);
      const job = res.json<JobRecord>();
      expect(job).toMatchObject({ kind: 'backup', state: 'queued', request: { dataset: 'home', full: true, tags: ['manual'] } });
      expect(res.headers.location).toBe(`/api/v1/jobs/${job.id}`);

      const list = await request(port, '/api/v1/jobs');
      expect(list.json<{ jobs: JobRecord[] }>().jobs.map((j) => j.id)).toEqual([job.id]);
      const one = await request(port, `/api/v1/jobs/${job.id}`);
      expect(one.status).toBe(200);
      expect(one.json<JobRecord>().id).toBe(job.id);
    });

    it('accepts an empty body as no options', async () => {
      const res = await request(port, '/api/v1/datasets/db/backup', { method: 'POST' });
      expect(res.status).toBe(202);
      expect(res.json<JobRecord>().request).toMatchObject({ dataset: 'db', full: false, tags: [] });
    });

    it('filters the job list by state, kind and dataset, with a limit', async () => {
      for (const d of ['home', 'db', 'home']) await request(port, `/api/v1/datasets/${d}/backup`, { method: 'POST' });
      runtime.setState('job-1', 'running');
      const ids = async (q: string): Promise<string[]> => (await request(port, `/api/v1/jobs${q}`)).json<{ jobs: JobRecord[] }>().jobs.map((j) => j.id);
      expect(await ids('?state=running')).toEqual(['job-1']);
      expect(await ids('?dataset=home')).toEqual(['job-3', 'job-1']);
      expect(await ids('?kind=restore')).toEqual([]);
      expect(await ids('?limit=1')).toEqual(['job-3']);
    });

    it.each([
      ['?state=sleeping', /query\.state must be one of queued, running/],
      ['?limit=0', /query\.limit must be an integer from 1 to 1000/],
      ['?limit=abc', /query\.limit/],
      ['?colour=red', /unknown query parameter "colour"/],
      ['?state=done&state=failed', /query\.state given more than once/],
    ])('rejects GET /jobs%s with 400', async (query, message) => {
      const res = await request(port, `/api/v1/jobs${query}`);
      expect(res.status).toBe(400);
      expect(error(res)).toEqual({ code: 'E_USAGE', message: expect.stringMatching(message), hint: expect.any(String) });
    });

    it('answers 404 for an unknown job, on GET and cancel', async () => {
      for (const [method, path] of [['GET', '/api/v1/jobs/nope'], ['POST', '/api/v1/jobs/nope/cancel']] as const) {
        const res = await request(port, path, { method });
        expect(res.status).toBe(404);
        expect(error(res)).toMatchObject({ code: catalogueCode('E_JOB_NOT_FOUND', 'E_USAGE'), message: 'no job named "nope"' });
      }
    });

    it('answers 404 for an unknown dataset', async () => {
      const res = await request(port, '/api/v1/datasets/nothere/backup', { method: 'POST', body: {} });
      expect(res.status).toBe(404);
      expect(error(res)).toMatchObject({ code: catalogueCode('E_DATASET_NOT_FOUND', 'E_USAGE'), message: 'no dataset named "nothere"' });
    });

    it('cancels a queued job (200, cancelled) and reports a running one as still stopping (202)', async () => {
      await request(port, '/api/v1/datasets/home/backup', { method: 'POST' });
      await request(port, '/api/v1/datasets/db/backup', { method: 'POST' });
      const cancelled = await request(port, '/api/v1/jobs/job-1/cancel', { method: 'POST' });
      expect(cancelled.status).toBe(200);
      expect(cancelled.json<JobRecord>().state).toBe('cancelled');
      runtime.setState('job-2', 'running');
      const stopping = await request(port, '/api/v1/jobs/job-2/cancel', { method: 'POST' });
      expect(stopping.status).toBe(202);
      expect(stopping.json<JobRecord>().state).toBe('running');
    });

    it.each([
      ['tags is not an array', JSON.stringify({ tags: 'daily' }), /body\.tags must be an array of strings/],
      ['a tag is empty', JSON.stringify({ tags: ['ok', ''] }), /body\.tags\[1\] must be a non-empty string/],
      ['full is a string', JSON.stringify({ full: 'yes' }), /body\.full must be true or false/],
      ['compressionLevel out of range', JSON.stringify({ compressionLevel: 23 }), /body\.compressionLevel must be an integer 0\.\.22, got 23/],
      ['an unknown field', JSON.stringify({ fulll: true }), /body\.fulll is not a known field/],
      ['an array body', '[]', /must be a JSON object/],
      ['malformed JSON', '{"full": tru', /request body is not valid JSON/],
    ])('rejects a backup request whose body has %s with 400', async (_name, rawBody, message) => {
      const res = await request(port, '/api/v1/datasets/home/backup', { method: 'POST', rawBody });
      expect(res.status).toBe(400);
      expect(error(res).message).toMatch(message);
      expect(runtime.jobs.size).toBe(0);
    });

    it('answers 413 for a body over the limit', async () => {
      const rawBody = JSON.stringify({ tags: ['x'.repeat(100 * 1024)] });
      const res = await request(port, '/api/v1/datasets/home/backup', { method: 'POST', rawBody });
      expect(res.status).toBe(413);
      expect(error(res).message).toBe('request body larger than 65536 bytes');
      expect(runtime.jobs.size).toBe(0);
    });

    it('answers 415 for a body that is not JSON', async () => {
      const res = await request(port, '/api/v1/datasets/home/backup', { method: 'POST', rawBody: 'full=true', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(res.status).toBe(415);
    });

    it('passes a request the controller rejects back as 400 with its code and message', async () => {
      const res = await request(port, '/api/v1/datasets/home/backup', { method: 'POST', body: { tags: ['rejected'] } });
      expect(res.status).toBe(400);
      expect(error(res)).toMatchObject({ code: catalogueCode('E_INVALID_REQUEST', 'E_INVALID_OPTION'), message: expect.stringMatching(/^tags\[0\]/) });
    });

    it('maps a locked repository to 409 with the catalogue hint', async () => {
      const res = await request(port, '/api/v1/datasets/locked/backup', { method: 'POST' });
      expect(res.status).toBe(409);
      expect(res.json()).toEqual({ error: { code: 'E_REPOSITORY_LOCKED', message: 'repository main is locked by another process (pid 4242)', hint: expect.stringMatching(/ebm unlock/) } });
    });

    it('answers 500 without details for a bug, and logs the details', async () => {
      const res = await request(port, '/api/v1/datasets/buggy/backup', { method: 'POST' });
      expect(res.status).toBe(500);
      expect(error(res).code).toBe('E_INTERNAL');
      expect(res.text).not.toMatch(/secret|\/srv\/x|at /);
      const logged = logger.lines.find((l) => l.level === 'error');
      expect(logged?.fields).toMatchObject({ route: '/api/v1/datasets/{name}/backup', error: 'Error: secret internal detail at /srv/x', stack: expect.stringMatching(/api-server|fake-runtime/) });
    });
  });

  describe('snapshots and restores', () => {
    it('lists snapshots, filtered by dataset', async () => {
      const all = await request(port, '/api/v1/snapshots');
      expect(all.json<{ snapshots: { dataset: string }[] }>().snapshots.map((s) => s.dataset)).toEqual(['home', 'db', 'web1']);
      const db = await request(port, '/api/v1/snapshots?dataset=db');
      expect(db.json<{ snapshots: { id: string }[] }>().snapshots).toEqual([expect.objectContaining({ id: expect.stringMatching(/^e5f6a7b8/) })]);
    });

    it('browses a snapshot by id prefix: root, a subdirectory, paging', async () => {
      const root = await request(port, '/api/v1/snapshots/a1b2/tree');
      expect(root.status).toBe(200);
      expect(root.json()).toMatchObject({ snapshot: expect.stringMatching(/^a1b2c3d4/), path: '', total: 2, entries: [{ name: 'docs', kind: 'dir' }, { name: 'notes.txt', size: 100 }] });
      const docs = await request(port, `/api/v1/snapshots/a1b2/tree?path=${encodeURIComponent('/docs/')}`);
      expect(docs.json()).toMatchObject({ path: 'docs', entries: [{ path: 'docs/report.pdf' }] });
      const page = await request(port, '/api/v1/snapshots/a1b2/tree?offset=1&limit=1');
      expect(page.json()).toMatchObject({ total: 2, entries: [{ name: 'notes.txt' }] });
    });

    it('answers 404 for an unknown snapshot or path', async () => {
      const snap = await request(port, '/api/v1/snapshots/ffff/tree');
      expect(snap.status).toBe(404);
      expect(error(snap)).toMatchObject({ code: 'E_SNAPSHOT_NOT_FOUND', hint: 'see `ebm snapshots`' });
      const missing = await request(port, '/api/v1/snapshots/a1b2/tree?path=nope');
      expect(missing.status).toBe(404);
      expect(error(missing).code).toBe('E_PATH_NOT_IN_SNAPSHOT');
    });

    it('starts a restore: 202 with a restore job', async () => {
      const res = await request(port, '/api/v1/restores', { method: 'POST', body: { snapshot: 'a1b2', target: '/tmp/restored', include: ['docs'] } });
      expect(res.status).toBe(202);
      expect(res.json<JobRecord>()).toMatchObject({ kind: 'restore', state: 'queued', request: { target: '/tmp/restored', includes: ['docs'], overwrite: false } });
    });

    it.each([
      [{ target: '/tmp/x' }, 400, /body\.snapshot must be a non-empty string/],
      [{ snapshot: 'a1b2', target: 'relative/dir' }, 400, /body\.target must be an absolute path/],
      [{ snapshot: 'a1b2', target: '/tmp/x', overwrite: 1 }, 400, /body\.overwrite must be true or false/],
      [{ snapshot: 'ffff', target: '/tmp/x' }, 404, /no snapshot matches "ffff"/],
    ])('rejects the restore request %j', async (body, status, message) => {
      const res = await request(port, '/api/v1/restores', { method: 'POST', body });
      expect(res.status).toBe(status);
      expect(error(res).message).toMatch(message);
    });
  });

  describe('discoveries: endpoint → layer → files', () => {
    interface Listed { discoveries: Array<{ plugin: string; source: string; time: string; backup?: { snapshot: string } | null; report: { layers?: Array<{ id: string }> } }> }
    it('lists the newest discovery of each source and plugin, all of them with all=true, filtered by source and plugin', async () => {
      const newest = await request(port, '/api/v1/discoveries');
      expect(newest.status).toBe(200);
      expect(newest.json<Listed>().discoveries.map((d) => [d.plugin, d.time])).toEqual([['overlay', '2024-05-04T02:00:00.000Z'], ['sqlite', '2024-05-02T01:00:00.000Z']]);
      const all = await request(port, '/api/v1/discoveries?all=true');
      expect(all.json<Listed>().discoveries).toHaveLength(3);
      const bySource = await request(port, `/api/v1/discoveries?source=${encodeURIComponent('overlayfs:/mnt/web1')}&all=true`);
      expect(bySource.json<Listed>().discoveries.map((d) => d.plugin)).toEqual(['overlay', 'overlay']);
      const byPlugin = await request(port, '/api/v1/discoveries?plugin=sqlite&repository=main');
      expect(byPlugin.json<Listed>().discoveries.map((d) => d.source)).toEqual(['/srv/app.db']);
      // A discovered endpoint links to its newest layered backup, whose layers /snapshots/{id}/layers lists.
      const endpoint = newest.json<Listed>().discoveries[0]!;
      expect(endpoint.report.layers!.map((l) => l.id)).toEqual(['lower-0', 'upper']);
      const layers = await request(port, `/api/v1/snapshots/${endpoint.backup!.snapshot}/layers`);
      expect(layers.json<{ layers: Array<{ id: string }> }>().layers.map((l) => l.id)).toEqual(['lower-0', 'upper']);
    });

    it.each([
      ['?all=yes', 400, /query\.all must be true or false/],
      ['?colour=red', 400, /unknown query parameter "colour"/],
      ['?source=', 400, /query\.source must be a non-empty string/],
      ['?repository=elsewhere', 404, /no repository named "elsewhere"/],
    ])('rejects GET /discoveries%s', async (query, status, message) => {
      const res = await request(port, `/api/v1/discoveries${query}`);
      expect(res.status).toBe(status);
      expect(error(res).message).toMatch(message);
    });

    const files = (query: string): ReturnType<typeof request> => request(port, `/api/v1/discoveries/files?source=${encodeURIComponent('overlayfs:/mnt/web1')}&${query}`);

    it("pages through a discovered layer's files", async () => {
      const first = await files('layer=lower-0&limit=2');
      expect(first.status).toBe(200);
      expect(first.json()).toEqual({
        plugin: 'overlay', source: 'overlayfs:/mnt/web1', time: '2024-05-04T02:00:00.000Z', offset: 0, limit: 2, more: true,
        layer: { id: 'lower-0', kind: 'base', name: 'lower 0', order: 0, files: 2 },
        files: [{ path: 'etc', type: 'dir', size: 0 }, { path: 'etc/hosts', type: 'file', size: 10 }],
      });
      const last = await files('layer=lower-0&offset=4&limit=2');
      expect(last.json()).toMatchObject({ more: false, total: 5, files: [{ path: 'usr/bin/tool', size: 2048 }] });
      const upper = await files('layer=upper&plugin=overlay');
      expect(upper.json()).toMatchObject({ more: false, total: 1, files: [{ path: 'etc/motd' }] });
    });

    it('cancels the live layer query when the client goes away', async () => {
      const req = http.request({ host: '127.0.0.1', port, path: `/api/v1/discoveries/files?source=${encodeURIComponent('overlayfs:/mnt/web1')}&layer=hang`, headers: { authorization: `Bearer ${TOKEN}` }, agent: false });
      req.on('error', () => undefined); // the socket is destroyed below
      req.end();
      await eventually(() => runtime.hangingQueries.started === 1);
      expect(runtime.hangingQueries.cancelled).toBe(0);
      req.destroy();
      await eventually(() => runtime.hangingQueries.cancelled === 1);
    });

    it('refuses an unknown source, layer or repository with 404, and a bad query or a discovery without layers with 400', async () => {
      const unknown = await request(port, '/api/v1/discoveries/files?source=/nowhere&layer=upper');
      expect([unknown.status, error(unknown).code, error(unknown).message]).toEqual([404, catalogueCode('E_DISCOVERY_NOT_FOUND', 'E_USAGE'), 'no discovery of "/nowhere" is recorded']);
      expect(error(unknown).hint).toMatch(/GET \/api\/v1\/discoveries/);
      const layer = await files('layer=os');
      expect([layer.status, error(layer).code]).toEqual([404, catalogueCode('E_LAYER_NOT_FOUND', 'E_USAGE')]);
      expect(error(layer).message).toMatch(/no layer "os" \(layers: lower-0 \(base\), upper \(upper\)\)/);
      const repo = await files('layer=upper&repository=elsewhere');
      expect([repo.status, error(repo).message]).toEqual([404, 'no repository named "elsewhere"']);
      const sqlite = await request(port, `/api/v1/discoveries/files?source=${encodeURIComponent('/srv/app.db')}&layer=x`);
      expect([sqlite.status, error(sqlite).message]).toEqual([400, expect.stringMatching(/has no layers/)]);
      for (const [query, message] of [
        ['layer=upper&limit=10001', /query\.limit must be an integer from 1 to 10000/],
        ['layer=upper&offset=-1', /query\.offset/],
        ['limit=5', /query\.layer is required/],
        ['layer=upper&path=etc', /unknown query parameter "path"/],
      ] as const) {
        const res = await files(query);
        expect([query, res.status, error(res).message]).toEqual([query, 400, expect.stringMatching(message)]);
      }
      const noSource = await request(port, '/api/v1/discoveries/files?layer=upper');
      expect([noSource.status, error(noSource).message]).toEqual([400, expect.stringMatching(/query\.source is required/)]);
    });

    it('requires the bearer token', async () => {
      for (const path of ['/api/v1/discoveries', '/api/v1/discoveries/files?source=x&layer=y']) expect((await request(port, path, { token: null })).status).toBe(401);
    });
  });

  describe('verify, forget and prune jobs', () => {
    it('queues a verify job of a snapshot and a check of a whole repository', async () => {
      const one = await request(port, '/api/v1/verifications', { method: 'POST', body: { snapshot: 'a1b2' } });
      expect(one.status).toBe(202);
      const job = one.json<JobRecord>();
      expect(one.headers.location).toBe(`/api/v1/jobs/${job.id}`);
      expect(job).toMatchObject({ kind: 'verify', state: 'queued', request: { repository: 'main', snapshot: 'a1b2c3d4'.padEnd(64, '0') } });
      const all = await request(port, '/api/v1/verifications', { method: 'POST', body: { repository: 'main', readDataSubset: '10%' } });
      expect(all.status).toBe(202);
      expect(all.json<JobRecord>().request).toEqual({ kind: 'verify', repository: 'main', priority: 0, readDataSubset: '10%' });
    });

    it.each([
      [{}, 400, /body\.snapshot .* or body\.repository .* is required/],
      [{ snapshot: 'a1b2', readDataSubset: '5%' }, 400, /body\.readDataSubset applies to a whole-repository check/],
      [{ repository: 'main', readDataSubset: 'half' }, 400, /body\.readDataSubset must be a percentage/],
      [{ repository: 'main', dataset: 'home' }, 400, /body\.dataset selects a snapshot/],
      [{ repository: 'main', deep: true }, 400, /body\.deep is not a known field/],
      [{ snapshot: 'ffff' }, 404, /no snapshot matches "ffff"/],
      [{ repository: 'elsewhere' }, 404, /no repository named "elsewhere"/],
    ])('rejects the verify request %j', async (body, status, message) => {
      const res = await request(port, '/api/v1/verifications', { method: 'POST', body });
      expect(res.status).toBe(status);
      expect(error(res).message).toMatch(message);
    });

    it('queues a dataset\'s retention as a forget job (with prune unless told otherwise), and a prune of a repository', async () => {
      const forget = await request(port, '/api/v1/datasets/home/forget', { method: 'POST' });
      expect(forget.status).toBe(202);
      expect(forget.json<JobRecord>()).toMatchObject({ kind: 'forget', request: { dataset: 'home', prune: true, policy: { keepDaily: 7 } } });
      const only = await request(port, '/api/v1/datasets/home/forget', { method: 'POST', body: { prune: false } });
      expect(only.json<JobRecord>().request).toMatchObject({ prune: false });
      const prune = await request(port, '/api/v1/repositories/main/prune', { method: 'POST', body: {} });
      expect(prune.status).toBe(202);
      expect(prune.json<JobRecord>()).toMatchObject({ kind: 'prune', state: 'queued', request: { repository: 'main' } });
    });

    it('rejects forget and prune requests it cannot queue', async () => {
      expect((await request(port, '/api/v1/datasets/nope/forget', { method: 'POST' })).status).toBe(404);
      const noPolicy = await request(port, '/api/v1/datasets/db/forget', { method: 'POST' });
      expect([noPolicy.status, error(noPolicy).message]).toEqual([400, expect.stringMatching(/no retention policy/)]);
      expect((await request(port, '/api/v1/datasets/home/forget', { method: 'POST', body: { prune: 'yes' } })).status).toBe(400);
      expect((await request(port, '/api/v1/repositories/elsewhere/prune', { method: 'POST' })).status).toBe(404);
      expect((await request(port, '/api/v1/repositories/main/prune', { method: 'POST', body: { all: true } })).status).toBe(400);
    });
  });

  describe('routing', () => {
    it('answers 404 for an unknown route and 405 with Allow for a wrong method', async () => {
      const unknown = await request(port, '/api/v2/status');
      expect(unknown.status).toBe(404);
      expect(error(unknown).message).toBe('no API route "/api/v2/status"');
      const del = await request(port, '/api/v1/jobs/job-1', { method: 'DELETE' });
      expect(del.status).toBe(405);
      expect(del.headers.allow).toBe('GET');
      const getRestores = await request(port, '/api/v1/restores');
      expect(getRestores.status).toBe(405);
      expect(getRestores.headers.allow).toBe('POST');
    });

    it('writes one access-log line per request, without the query or the token', async () => {
      await request(port, '/api/v1/jobs?dataset=secret-name');
      await request(port, '/api/v1/jobs/x', { method: 'DELETE' });
      // The line is written when the response is closed, which may be just after the client has read it.
      const accessLines = (): typeof logger.lines => logger.lines.filter((l) => l.msg === 'http');
      await eventually(() => accessLines().length === 2);
      const access = accessLines();
      expect(access.map((l) => l.fields)).toEqual([
        { method: 'GET', path: '/api/v1/jobs', route: '/api/v1/jobs', status: 200, ms: expect.any(Number) },
        { method: 'DELETE', path: '/api/v1/jobs/x', route: 'unmatched', status: 405, ms: expect.any(Number) },
      ]);
      expect(JSON.stringify(logger.lines)).not.toMatch(new RegExp(`${TOKEN}|secret-name`));
    });

    it('answers 404 to a request target that is not a URL, and keeps serving', async () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.write(`GET http://[ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
      const chunks: Buffer[] = [];
      for await (const chunk of socket) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).toString('utf8')).toMatch(/^HTTP\/1\.1 404 /);
      expect((await request(port, '/api/v1/status')).status).toBe(200);
    });

    it('lists its routes', () => {
      expect(server.routes).toContainEqual({ method: 'POST', path: '/api/v1/datasets/{name}/backup' });
      expect(server.routes).toContainEqual({ method: 'GET', path: '/metrics' });
    });

    it('reports a port already in use as E_USAGE', async () => {
      const other = createApiServer(runtime, { token: TOKEN, logger });
      await expect(other.listen('127.0.0.1', port)).rejects.toMatchObject({ code: 'E_USAGE', message: expect.stringMatching(/EADDRINUSE/) });
      await other.close();
    });
  });
});
