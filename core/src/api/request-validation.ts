import * as path from 'node:path';
import { TERMINAL_STATES } from '../jobs/job-types';
import type { JobKind, JobState } from '../jobs/job-types';
import { badRequest } from './http-errors';
import type { ApplyRetentionOptions, DiscoveryFilesRequest, DiscoveryFilter, JobFilter, SnapshotFilter, StartRestoreRequest, StartVerifyRequest, TriggerBackupOptions } from './runtime-facade';
import { RUNTIME_EVENT_TYPES } from './runtime-facade';
import type { RuntimeEventType } from './runtime-facade';

/**
 * Shape checks of query strings and request bodies. Each rejection names the
 * field at fault (`body.tags[2]`, `query.limit`). Semantic checks (does the
 * snapshot exist, is the target usable) belong to the runtime.
 */

const JOB_STATES: readonly JobState[] = ['queued', 'running', 'verifying', ...TERMINAL_STATES];
const JOB_KINDS: readonly JobKind[] = ['backup', 'restore', 'verify', 'forget', 'prune'];
const MAX_LIMIT = 1000;
const MAX_BROWSE_LIMIT = 10_000;
const MAX_TEXT = 4096;

export function parseJobFilter(query: URLSearchParams): JobFilter {
  allowOnly(query, ['state', 'kind', 'dataset', 'limit']);
  return {
    ...optionalEnum(query, 'state', JOB_STATES),
    ...optionalEnum(query, 'kind', JOB_KINDS),
    ...optionalText(query, 'dataset'),
    limit: limitParam(query, 'limit', 100, MAX_LIMIT),
  };
}

export function parseSnapshotFilter(query: URLSearchParams): SnapshotFilter {
  allowOnly(query, ['repository', 'dataset', 'tag', 'limit']);
  return {
    ...optionalText(query, 'repository'),
    ...optionalText(query, 'dataset'),
    ...optionalText(query, 'tag'),
    limit: limitParam(query, 'limit', 100, MAX_LIMIT),
  };
}

export interface BrowseQuery {
  readonly path: string;
  readonly repository?: string;
  readonly dataset?: string;
  readonly offset: number;
  readonly limit: number;
  readonly layer?: string;
}

export function parseBrowseQuery(query: URLSearchParams): BrowseQuery {
  allowOnly(query, ['path', 'repository', 'dataset', 'offset', 'limit', 'layer']);
  return {
    path: query.get('path') ?? '',
    ...optionalText(query, 'layer'),
    ...optionalText(query, 'repository'),
    ...optionalText(query, 'dataset'),
    offset: integerParam(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
    limit: limitParam(query, 'limit', 1000, MAX_BROWSE_LIMIT),
  };
}

export function parseDiscoveryFilter(query: URLSearchParams): DiscoveryFilter {
  allowOnly(query, ['source', 'plugin', 'all', 'repository']);
  return {
    ...optionalText(query, 'source'),
    ...optionalText(query, 'plugin'),
    ...optionalText(query, 'repository'),
    all: booleanParam(query, 'all', false),
  };
}

/** A page of a discovered layer's files: the provider is asked live, so a page is at most 10,000 files. */
export function parseDiscoveryFilesQuery(query: URLSearchParams): Omit<DiscoveryFilesRequest, 'signal'> {
  allowOnly(query, ['source', 'plugin', 'layer', 'repository', 'offset', 'limit']);
  const source = optionalText(query, 'source').source;
  const layer = optionalText(query, 'layer').layer;
  if (source === undefined) throw badRequest('query.source is required: the source as `ebm discover` recorded it (see GET /api/v1/discoveries)');
  if (layer === undefined) throw badRequest("query.layer is required: a layer id of the discovery's report (see GET /api/v1/discoveries)");
  return {
    source,
    layer,
    ...optionalText(query, 'plugin'),
    ...optionalText(query, 'repository'),
    offset: integerParam(query, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
    limit: limitParam(query, 'limit', 1000, MAX_BROWSE_LIMIT),
  };
}

export interface EventFilter {
  /** Only these event types; all when undefined. */
  readonly types?: ReadonlySet<RuntimeEventType>;
  /** Only events about this job. */
  readonly job?: string;
}

export function parseEventFilter(query: URLSearchParams): EventFilter {
  allowOnly(query, ['types', 'job']);
  const raw = query.get('types');
  let types: Set<RuntimeEventType> | undefined;
  if (raw !== null) {
    types = new Set();
    for (const t of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      if (!(RUNTIME_EVENT_TYPES as readonly string[]).includes(t)) {
        throw badRequest(`query.types: unknown event type ${JSON.stringify(t)} (known: ${RUNTIME_EVENT_TYPES.join(', ')})`);
      }
      types.add(t as RuntimeEventType);
    }
  }
  return { ...(types ? { types } : {}), ...optionalText(query, 'job') };
}

export function parseTriggerBackup(body: unknown): TriggerBackupOptions {
  const obj = objectBody(body, ['full', 'tags', 'compressionLevel']);
  const out: { full?: boolean; tags?: readonly string[]; compressionLevel?: number } = {};
  if (obj.full !== undefined) out.full = booleanField(obj.full, 'body.full');
  if (obj.tags !== undefined) out.tags = stringArray(obj.tags, 'body.tags');
  if (obj.compressionLevel !== undefined) {
    const level = obj.compressionLevel;
    if (typeof level !== 'number' || !Number.isInteger(level) || level < 0 || level > 22) throw badRequest(`body.compressionLevel must be an integer 0..22, got ${JSON.stringify(level)}`);
    out.compressionLevel = level;
  }
  return out;
}

/** `repository` and `dataset` (for `latest`) of a route that names one snapshot. */
export function parseSnapshotSelector(query: URLSearchParams): { repository?: string; dataset?: string } {
  allowOnly(query, ['repository', 'dataset']);
  return { ...optionalText(query, 'repository'), ...optionalText(query, 'dataset') };
}

export function parseStartRestore(body: unknown): StartRestoreRequest {
  const obj = objectBody(body, ['snapshot', 'repository', 'dataset', 'target', 'include', 'overwrite', 'layer', 'native']);
  const layer = obj.layer !== undefined ? requiredText(obj.layer, 'body.layer') : undefined;
  const native = obj.native !== undefined ? booleanField(obj.native, 'body.native') : false;
  if (layer !== undefined && native) throw badRequest('body.layer restores one layer as stored; it takes no body.native');
  const target = requiredText(obj.target, 'body.target');
  if (!path.isAbsolute(target)) throw badRequest(`body.target must be an absolute path on the host, got ${JSON.stringify(target)}`);
  return {
    snapshot: requiredText(obj.snapshot, 'body.snapshot'),
    ...(obj.repository !== undefined ? { repository: requiredText(obj.repository, 'body.repository') } : {}),
    ...(obj.dataset !== undefined ? { dataset: requiredText(obj.dataset, 'body.dataset') } : {}),
    target,
    include: obj.include === undefined ? [] : stringArray(obj.include, 'body.include'),
    overwrite: obj.overwrite === undefined ? false : booleanField(obj.overwrite, 'body.overwrite'),
    ...(layer !== undefined ? { layer } : {}),
    ...(native ? { native } : {}),
  };
}

export function parseStartVerify(body: unknown): StartVerifyRequest {
  const obj = objectBody(body, ['snapshot', 'repository', 'dataset', 'readDataSubset']);
  const snapshot = obj.snapshot !== undefined ? requiredText(obj.snapshot, 'body.snapshot') : undefined;
  const repository = obj.repository !== undefined ? requiredText(obj.repository, 'body.repository') : undefined;
  const dataset = obj.dataset !== undefined ? requiredText(obj.dataset, 'body.dataset') : undefined;
  const subset = obj.readDataSubset !== undefined ? requiredText(obj.readDataSubset, 'body.readDataSubset') : undefined;
  if (snapshot === undefined && repository === undefined) throw badRequest('body.snapshot (verify one snapshot) or body.repository (check the whole repository) is required');
  if (snapshot !== undefined && subset !== undefined) throw badRequest('body.readDataSubset applies to a whole-repository check; a snapshot verification re-reads all of its data (give one of body.snapshot, body.readDataSubset)');
  if (snapshot === undefined && dataset !== undefined) throw badRequest('body.dataset selects a snapshot (with body.snapshot "latest"); it takes body.snapshot');
  if (subset !== undefined && !/^(\d+(\.\d+)?%|\d+\/\d+)$/.test(subset)) throw badRequest(`body.readDataSubset must be a percentage like "10%" or "n/m" like "2/5", got ${JSON.stringify(subset)}`);
  return {
    ...(snapshot !== undefined ? { snapshot } : {}),
    ...(repository !== undefined ? { repository } : {}),
    ...(dataset !== undefined ? { dataset } : {}),
    ...(subset !== undefined ? { readDataSubset: subset } : {}),
  };
}

export function parseApplyRetention(body: unknown): ApplyRetentionOptions {
  const obj = objectBody(body, ['prune']);
  return { prune: obj.prune === undefined ? true : booleanField(obj.prune, 'body.prune') };
}

/** A body that must be empty or `{}` (an action that takes no options). */
export function parseEmptyBody(body: unknown): void {
  objectBody(body, []);
}

// ---------------------------------------------------------------- helpers

function allowOnly(query: URLSearchParams, names: readonly string[]): void {
  for (const key of new Set(query.keys())) {
    if (!names.includes(key)) throw badRequest(`unknown query parameter ${JSON.stringify(key)} (allowed: ${names.join(', ') || 'none'})`);
    if (query.getAll(key).length > 1) throw badRequest(`query.${key} given more than once`);
  }
}

function optionalText<K extends string>(query: URLSearchParams, name: K): { [P in K]?: string } {
  const value = query.get(name);
  if (value === null) return {};
  if (value === '' || value.length > MAX_TEXT) throw badRequest(`query.${name} must be a non-empty string of at most ${MAX_TEXT} characters`);
  return { [name]: value } as { [P in K]?: string };
}

function optionalEnum<K extends string, V extends string>(query: URLSearchParams, name: K, allowed: readonly V[]): { [P in K]?: V } {
  const value = query.get(name);
  if (value === null) return {};
  if (!(allowed as readonly string[]).includes(value)) throw badRequest(`query.${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return { [name]: value } as { [P in K]?: V };
}

function integerParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw badRequest(`query.${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

function booleanParam(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (raw !== 'true' && raw !== 'false') throw badRequest(`query.${name} must be true or false, got ${JSON.stringify(raw)}`);
  return raw === 'true';
}

function limitParam(query: URLSearchParams, name: string, fallback: number, max: number): number {
  return integerParam(query, name, fallback, 1, max);
}

function objectBody(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('the request body must be a JSON object');
  const obj = body as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw badRequest(`body.${key} is not a known field (allowed: ${allowed.join(', ')})`);
  }
  return obj;
}

function booleanField(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw badRequest(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function requiredText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_TEXT) throw badRequest(`${name} must be a non-empty string of at most ${MAX_TEXT} characters`);
  return value;
}

function stringArray(value: unknown, name: string): string[] {
  if (!Array.isArray(value)) throw badRequest(`${name} must be an array of strings`);
  if (value.length > 1000) throw badRequest(`${name} has more than 1000 items`);
  return value.map((item, i) => requiredText(item, `${name}[${i}]`));
}
