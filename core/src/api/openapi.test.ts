import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { TERMINAL_STATES } from '../jobs/job-types';
import { createApiServer } from './api-server';
import type { ApiServer } from './api-server';
import { FakeRuntime } from './fake-runtime.test-support';
import { memoryLogger, request, TOKEN } from './http-client.test-support';
import { RUNTIME_EVENT_TYPES } from './runtime-facade';

const OPENAPI_FILE = path.resolve(__dirname, '../../../docs/openapi.yaml');

interface Operation {
  parameters?: { $ref?: string; name?: string; in?: string }[];
  responses: Record<string, { content?: Record<string, unknown> }>;
  security?: unknown[];
  'x-sse-events'?: Record<string, unknown>;
}

interface OpenApiDoc {
  openapi: string;
  security: Record<string, unknown>[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }>; schemas: Record<string, unknown>; parameters: Record<string, { name: string; in: string }> };
}

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

/** docs/openapi.yaml documents exactly the routes the server implements, and its schemas match real responses. */
describe('docs/openapi.yaml', () => {
  const doc = parse(fs.readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDoc;
  const routes = createApiServer(new FakeRuntime(), { token: TOKEN, logger: memoryLogger() }).routes;
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.keys(ops).filter((m) => HTTP_METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${p}`));
  const operations = Object.entries(doc.paths).flatMap(([p, ops]) =>
    Object.entries(ops).filter(([m]) => HTTP_METHODS.includes(m)).map(([m, op]) => ({ id: `${m.toUpperCase()} ${p}`, path: p, op })));

  it('is OpenAPI 3.1 with a global bearer security scheme that no route opts out of', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    for (const { id, op } of operations) {
      expect([id, op.security]).toEqual([id, undefined]);
      expect([id, Object.keys(op.responses)]).toEqual([id, expect.arrayContaining(['401'])]);
    }
  });

  it('documents every route the server implements, and no other', () => {
    expect(documented.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('declares each path parameter of each route', () => {
    for (const { id, path: p, op } of operations) {
      const declared = (op.parameters ?? [])
        .map((param) => (param.$ref ? doc.components.parameters[param.$ref.split('/').pop()!]! : param))
        .filter((param) => param.in === 'path').map((param) => param.name).sort();
      const inTemplate = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect([id, declared]).toEqual([id, inTemplate]);
    }
  });

  it('has the schemas the API returns and names every event type of the stream', () => {
    for (const name of ['JobRecord', 'HostStatus', 'SnapshotSummary', 'Error', 'BrowseListing']) expect(doc.components.schemas).toHaveProperty(name);
    expect(doc.components.schemas.JobState).toEqual({ type: 'string', enum: ['queued', 'running', 'verifying', ...TERMINAL_STATES] });
    const events = doc.paths['/api/v1/events']!.get!;
    expect(Object.keys(events.responses['200']!.content!)).toEqual(['text/event-stream']);
    expect(Object.keys(events['x-sse-events']!).sort()).toEqual([...RUNTIME_EVENT_TYPES].sort());
  });

  describe('schemas against real responses', () => {
    let server: ApiServer;
    let port: number;
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema(doc as unknown as object, 'openapi');
    const check = (schema: string, value: unknown): void => {
      const validate = ajv.getSchema(`openapi#/components/schemas/${schema}`)!;
      expect([schema, validate(value), validate.errors ?? null]).toEqual([schema, true, null]);
    };

    beforeAll(async () => {
      server = createApiServer(new FakeRuntime(), { token: TOKEN, logger: memoryLogger() });
      ({ port } = await server.listen('127.0.0.1', 0));
    });
    afterAll(() => server.close());

    it('every $ref resolves', () => {
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
      expect(refs.length).toBeGreaterThan(50);
      for (const ref of refs) {
        const pointer = ref.split('/');
        let node: unknown = doc;
        for (const part of pointer) node = (node as Record<string, unknown> | undefined)?.[part];
        expect([ref, node !== undefined]).toEqual([ref, true]);
      }
    });

    it('responses validate against their schemas', async () => {
      check('HostStatus', (await request(port, '/api/v1/status')).json());
      const job = (await request(port, '/api/v1/datasets/home/backup', { method: 'POST', body: { tags: ['x'] } })).json();
      check('JobRecord', job);
      check('JobRecord', (await request(port, '/api/v1/restores', { method: 'POST', body: { snapshot: 'a1b2', target: '/tmp/r' } })).json());
      for (const s of (await request(port, '/api/v1/snapshots')).json<{ snapshots: unknown[] }>().snapshots) check('SnapshotSummary', s);
      check('BrowseListing', (await request(port, '/api/v1/snapshots/a1b2/tree')).json());
      check('BrowseListing', (await request(port, '/api/v1/snapshots/c0ff/tree?layer=upper')).json());
      check('EndpointLayers', (await request(port, '/api/v1/snapshots/c0ff/layers')).json());
      check('JobRecord', (await request(port, '/api/v1/restores', { method: 'POST', body: { snapshot: 'c0ff', target: '/tmp/r', layer: 'upper' } })).json());
      for (const d of (await request(port, '/api/v1/discoveries?all=true')).json<{ discoveries: unknown[] }>().discoveries) check('Discovery', d);
      check('DiscoveredLayerFiles', (await request(port, `/api/v1/discoveries/files?source=${encodeURIComponent('overlayfs:/mnt/web1')}&layer=lower-0&limit=2`)).json());
      check('DiscoveredLayerFiles', (await request(port, `/api/v1/discoveries/files?source=${encodeURIComponent('overlayfs:/mnt/web1')}&layer=upper`)).json());
      check('Error', (await request(port, '/api/v1/discoveries/files?source=nowhere&layer=x')).json());
      check('JobRecord', (await request(port, '/api/v1/verifications', { method: 'POST', body: { snapshot: 'a1b2' } })).json());
      check('JobRecord', (await request(port, '/api/v1/verifications', { method: 'POST', body: { repository: 'main', readDataSubset: '2/5' } })).json());
      check('JobRecord', (await request(port, '/api/v1/datasets/home/forget', { method: 'POST', body: { prune: false } })).json());
      check('JobRecord', (await request(port, '/api/v1/repositories/main/prune', { method: 'POST' })).json());
      check('Error', (await request(port, '/api/v1/jobs/nope')).json());
      check('Error', (await request(port, '/api/v1/status', { token: 'wrong' })).json());
      // The schemas are not vacuous: a record without its id fails.
      const validate = ajv.getSchema('openapi#/components/schemas/JobRecord')!;
      expect(validate({ ...(job as object), id: undefined })).toBe(false);
    });
  });
});
