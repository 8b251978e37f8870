import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { OptionValue, PluginDescriptor } from '@ebm/sdk';
import type { PluginRegistry } from '../plugin-host/plugin-registry';
import type { BackupJobRequest, ForgetJobRequest, JobKind, JobRequest, LayeredJobSpec, RestoreJobRequest, RetryPolicy, VerifyJobRequest } from '../jobs/job-types';
import { Fields, isOptionValue, isPlainObject, show } from './fields';
import { PRIORITY_MAX, PRIORITY_MIN } from './priority';
import type { EncryptionAlgorithm } from '../crypto/object-cipher';

export interface ControllerContext {
  /** Names of the configured repositories. */
  readonly repositories: Iterable<string>;
  readonly plugins: PluginRegistry;
  /** Encryption of each configured repository (a request's `encryption` must agree with it); absent = not checked beyond a boolean. */
  readonly repositoryEncryption?: ReadonlyMap<string, EncryptionAlgorithm>;
  readonly now?: () => Date;
}

export type ValidatedRequest = JobRequest;

export { PRIORITY_MAX, PRIORITY_MIN };
const KINDS: readonly JobKind[] = ['backup', 'restore', 'verify', 'forget', 'prune'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const POLICY_COUNTS = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;

/**
 * The backup controller: turns an untrusted request (from the HTTP API, the
 * scheduler or the CLI) into a validated JobRequest, or throws E_USAGE whose
 * message names every field at fault ("priority: must be an integer between
 * -100 and 100, got 500"). Unknown fields are refused, so a typo never
 * passes silently. Defaults: translator "filesystem", priority 0, tags [],
 * options {}, full/verify/overwrite/prune false.
 *
 * A backup may set its own `compressionLevel` (0..22) for the data it adds
 * (default: the repository's configured level). Encryption is chosen per
 * repository when it is created (`ebm init --encryption`, and
 * `repositories.<name>.encryption` in the configuration): a request's
 * `encryption` (true/false) is accepted only when it states what the
 * repository is, so a request that wants encryption never lands in an
 * unencrypted repository.
 */
export function validateRequest(input: unknown, context: ControllerContext): ValidatedRequest {
  if (!isPlainObject(input)) throw new EbmError('E_USAGE', `invalid job request: must be a JSON object, got ${show(input)}`);
  const f = new Fields(input);
  const kind = f.raw('kind');
  if (typeof kind !== 'string' || !KINDS.includes(kind as JobKind)) {
    throw new EbmError('E_USAGE', `invalid job request: kind: must be one of ${KINDS.join(', ')}, got ${show(kind)}`, { subject: 'kind' });
  }
  const repositories = new Set(context.repositories);
  const repository = f.string('repository', { required: true });
  if (repository !== undefined && !repositories.has(repository)) {
    f.problem('repository', `no configured repository "${repository}" (configured: ${[...repositories].sort().join(', ') || 'none'})`);
  }
  const priority = f.integer('priority', PRIORITY_MIN, PRIORITY_MAX, 0) ?? 0;
  const now = (context.now ?? (() => new Date()))();

  let request: ValidatedRequest | undefined;
  switch (kind as JobKind) {
    case 'backup':
      request = backup(f, context, repository, priority, now);
      break;
    case 'restore':
      request = restore(f, repository, priority);
      break;
    case 'verify':
      request = verify(f, repository, priority);
      break;
    case 'forget':
    case 'prune':
      request = forget(f, kind as 'forget' | 'prune', repository, priority);
      break;
  }
  for (const field of f.unknownFields()) f.problem(field, `unknown field for a ${kind} request`);
  if (f.problems.length > 0 || request === undefined) {
    throw new EbmError('E_USAGE', `invalid ${kind} request: ${f.problems.join('; ')}`, { subject: f.problems[0]?.split(':')[0] });
  }
  return request;
}

function backup(f: Fields, context: ControllerContext, repository: string | undefined, priority: number, now: Date): ValidatedRequest | undefined {
  const dataset = f.string('dataset', { required: true, pattern: NAME, patternHint: 'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit' });
  const provider = f.has('provider') ? f.string('provider') : undefined;
  if (f.has('provider') && f.has('translator')) f.problem('translator', 'give either provider (a layered endpoint backup) or translator, not both');
  const layered = f.has('provider') ? withBaseSnapshot(f, layeredOf(f, dataset)) : noLayerFields(f);
  const translatorId = f.has('provider') ? provider : f.string('translator') ?? (f.has('translator') ? undefined : 'filesystem');
  const descriptor = translatorId === undefined ? undefined : f.has('provider') ? providerOf(f, context.plugins, translatorId) : translatorOf(f, context.plugins, translatorId);
  const source = f.string('source', { required: true });
  const options = descriptor !== undefined ? pluginOptions(f, descriptor) : {};
  const tags = [...new Set(f.strings('tags'))].sort();
  const full = f.boolean('full', false);
  const verify = f.boolean('verify', false);
  const deadline = deadlineOf(f, now);
  checkEncryption(f, context, repository);
  const compressionLevel = f.has('compressionLevel') ? f.integer('compressionLevel', 0, 22) : undefined;
  const retry = retryOf(f);
  if (dataset === undefined || descriptor === undefined || source === undefined || repository === undefined) return undefined;
  const request: BackupJobRequest = {
    kind: 'backup', dataset, repository, translator: descriptor.manifest.id, source, options, tags, full, priority, verify,
    ...(layered !== undefined ? { layered } : {}),
    ...(deadline !== undefined ? { deadline } : {}),
    ...(compressionLevel !== undefined ? { compressionLevel } : {}),
    ...(retry !== undefined ? { retry } : {}),
  };
  return request;
}

const MAX_RETRY_ATTEMPTS = 100;
const MAX_BACKOFF_MS = 24 * 3600 * 1000;

/** `retry: { attempts 1..100, backoffMs, maxBackoffMs (0..24 h, maxBackoffMs ≥ backoffMs) }`, all three required. */
function retryOf(f: Fields): RetryPolicy | undefined {
  const raw = f.raw('retry');
  if (raw === undefined) return undefined;
  if (!isPlainObject(raw)) return f.problem('retry', `must be an object { attempts, backoffMs, maxBackoffMs }, got ${show(raw)}`);
  const inner = new Fields(raw);
  const attempts = inner.integer('attempts', 1, MAX_RETRY_ATTEMPTS);
  const backoffMs = inner.integer('backoffMs', 0, MAX_BACKOFF_MS);
  const maxBackoffMs = inner.integer('maxBackoffMs', 0, MAX_BACKOFF_MS);
  for (const field of ['attempts', 'backoffMs', 'maxBackoffMs']) if (!inner.has(field)) inner.problem(field, 'is required');
  for (const field of inner.unknownFields()) inner.problem(field, 'unknown field (allowed: attempts, backoffMs, maxBackoffMs)');
  if (backoffMs !== undefined && maxBackoffMs !== undefined && maxBackoffMs < backoffMs) inner.problem('maxBackoffMs', `must be at least backoffMs (${backoffMs}), got ${maxBackoffMs}`);
  for (const p of inner.problems) f.problems.push(`retry.${p}`);
  if (inner.problems.length > 0 || attempts === undefined || backoffMs === undefined || maxBackoffMs === undefined) return undefined;
  return { attempts, backoffMs, maxBackoffMs };
}

function checkEncryption(f: Fields, context: ControllerContext, repository: string | undefined): void {
  if (!f.has('encryption')) return;
  const wanted = f.raw('encryption');
  if (typeof wanted !== 'boolean') {
    f.problem('encryption', `must be true or false, got ${show(wanted)}`);
    return;
  }
  const actual = repository !== undefined ? context.repositoryEncryption?.get(repository) : undefined;
  if (actual === undefined) return;
  const encrypted = actual !== 'none';
  if (wanted !== encrypted) {
    f.problem('encryption', `repository "${repository}" is ${encrypted ? `encrypted (${actual})` : 'unencrypted'}; encryption is chosen per repository (repositories.${repository}.encryption, \`ebm init --encryption\`) — send the backup to a repository that is ${wanted ? 'encrypted' : 'unencrypted'}`);
  }
}

function translatorOf(f: Fields, plugins: PluginRegistry, id: string): PluginDescriptor | undefined {
  if (!plugins.has(id)) {
    const available = plugins.list().filter((d) => d.manifest.kind === 'translator').map((d) => d.manifest.id);
    const broken = plugins.problems.find((p) => p.id === id);
    return f.problem('translator', broken !== undefined ? `plugin '${id}' is installed but unusable: ${broken.error.message}` : `no installed plugin '${id}' (available: ${available.join(', ') || 'none'})`);
  }
  const d = plugins.get(id);
  if (d.manifest.kind !== 'translator') return f.problem('translator', `plugin '${id}' is a ${d.manifest.kind}, not a translator`);
  return d;
}

/** `endpoint` (default: the dataset) and `layers` (ids or kinds; default all) of a layered request. */
function layeredOf(f: Fields, dataset: string | undefined): LayeredJobSpec | undefined {
  const endpoint = f.string('endpoint', { pattern: NAME, patternHint: 'must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit' }) ?? dataset;
  const layers = [...new Set(f.strings('layers'))];
  return endpoint === undefined ? undefined : { endpoint, layers };
}

/** A layered backup's `baseSnapshot`: a layer map's base image as an earlier snapshot (id, prefix or latest:DATASET). */
function withBaseSnapshot(f: Fields, layered: LayeredJobSpec | undefined): LayeredJobSpec | undefined {
  const baseSnapshot = f.string('baseSnapshot', { pattern: /^(?:[0-9a-f]{4,64}|latest:[A-Za-z0-9][A-Za-z0-9._-]{0,127})$/, patternHint: 'must be a snapshot id (or a unique prefix of at least 4 hex digits) or latest:DATASET' });
  return layered === undefined || baseSnapshot === undefined ? layered : { ...layered, baseSnapshot };
}

/** A request that is not layered may not carry layered fields. */
function noLayerFields(f: Fields): undefined {
  for (const field of ['endpoint', 'layers', 'baseSnapshot']) if (f.has(field)) f.problem(field, 'applies to layered endpoints only (give provider, e.g. "overlay")');
  return undefined;
}

function providerOf(f: Fields, plugins: PluginRegistry, id: string): PluginDescriptor | undefined {
  if (!plugins.has(id)) {
    const available = plugins.list().filter((d) => d.manifest.kind === 'layer-provider').map((d) => d.manifest.id);
    return f.problem('provider', `no installed layer provider '${id}' (available: ${available.join(', ') || 'none'})`);
  }
  const d = plugins.get(id);
  if (d.manifest.kind !== 'layer-provider') return f.problem('provider', `plugin '${id}' is a ${d.manifest.kind}, not a layer provider`);
  return d;
}

function pluginOptions(f: Fields, descriptor: PluginDescriptor): Record<string, OptionValue> {
  const raw = f.raw('options');
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) {
    f.problem('options', `must be an object of option name → value, got ${show(raw)}`);
    return {};
  }
  const declared = new Map((descriptor.manifest.options ?? []).filter((o) => o.appliesTo !== 'restore').map((o) => [o.name, o]));
  const out: Record<string, OptionValue> = {};
  for (const [name, value] of Object.entries(raw)) {
    const spec = declared.get(name);
    if (spec === undefined) {
      f.problem(`options.${name}`, `translator '${descriptor.manifest.id}' has no backup option "${name}" (its options: ${[...declared.keys()].join(', ') || 'none'})`);
      continue;
    }
    const ok = isOptionValue(value) && (spec.type === 'string[]' ? Array.isArray(value) : typeof value === spec.type);
    if (!ok) f.problem(`options.${name}`, `must be a ${spec.type}, got ${show(value)}`);
    else out[name] = value;
  }
  return out;
}

function deadlineOf(f: Fields, now: Date): string | undefined {
  const raw = f.raw('deadline');
  if (raw === undefined) return undefined;
  const time = typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (Number.isNaN(time)) return f.problem('deadline', `must be an ISO date-time such as 2030-01-01T06:00:00Z, got ${show(raw)}`);
  if (time <= now.getTime()) return f.problem('deadline', `must be in the future (${new Date(time).toISOString()} is not after ${now.toISOString()})`);
  return new Date(time).toISOString();
}

function restore(f: Fields, repository: string | undefined, priority: number): RestoreJobRequest | undefined {
  const snapshot = f.string('snapshot', { required: true });
  const target = f.string('target', { required: true });
  if (target !== undefined && !path.isAbsolute(target)) f.problem('target', `must be an absolute path, got ${show(target)}`);
  const includes = f.strings('includes');
  const overwrite = f.boolean('overwrite', false);
  const layer = f.string('layer');
  const native = f.boolean('native', false);
  if (layer !== undefined && native) f.problem('native', 'layer restores one layer as stored; it takes no native');
  if (snapshot === undefined || target === undefined || repository === undefined || !path.isAbsolute(target)) return undefined;
  return { kind: 'restore', repository, snapshot, target, includes, overwrite, priority, ...(layer !== undefined ? { layer } : {}), ...(native ? { native } : {}) };
}

function verify(f: Fields, repository: string | undefined, priority: number): VerifyJobRequest | undefined {
  const snapshot = f.string('snapshot');
  const subset = f.string('readDataSubset');
  if (subset !== undefined && !validSubset(subset)) f.problem('readDataSubset', `must be a percentage like "10%" (0-100) or "n/m" with 1 ≤ n ≤ m, got ${show(subset)}`);
  if (snapshot !== undefined && subset !== undefined) f.problem('readDataSubset', 'give either snapshot (re-read its data) or readDataSubset (check the repository), not both');
  if (repository === undefined) return undefined;
  return { kind: 'verify', repository, priority, ...(snapshot !== undefined ? { snapshot } : {}), ...(subset !== undefined ? { readDataSubset: subset } : {}) };
}

function validSubset(text: string): boolean {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) return Number(pct[1]) > 0 && Number(pct[1]) <= 100;
  const nth = /^(\d+)\/(\d+)$/.exec(text);
  return nth !== null && Number(nth[1]) >= 1 && Number(nth[1]) <= Number(nth[2]);
}

function forget(f: Fields, kind: 'forget' | 'prune', repository: string | undefined, priority: number): ForgetJobRequest | undefined {
  const dataset = f.string('dataset', { pattern: NAME, patternHint: 'is not a valid dataset name' });
  const pruneAfter = kind === 'prune' ? true : f.boolean('prune', false);
  let policy: Record<string, number | readonly string[]> | undefined;
  const raw = f.raw('policy');
  if (raw !== undefined) {
    if (!isPlainObject(raw)) f.problem('policy', `must be an object like {"keepDaily": 7}, got ${show(raw)}`);
    else policy = policyOf(f, raw);
  }
  if (kind === 'forget' && raw === undefined) f.problem('policy', 'a forget request needs a retention policy (at least one keep rule); refusing to remove everything');
  if (kind === 'prune' && raw !== undefined) f.problem('policy', 'a prune request takes no policy (send a forget request with prune: true)');
  const layered = f.has('endpoint') ? layeredOf(f, undefined) : noLayerFields(f);
  if (layered !== undefined && policy === undefined) f.problem('endpoint', 'a layered retention (endpoint) needs a policy');
  if (repository === undefined) return undefined;
  return { kind, repository, prune: pruneAfter, priority, ...(dataset !== undefined ? { dataset } : {}), ...(policy !== undefined ? { policy } : {}), ...(layered !== undefined ? { layered } : {}) };
}

function policyOf(f: Fields, raw: Record<string, unknown>): Record<string, number | readonly string[]> | undefined {
  const out: Record<string, number | readonly string[]> = {};
  for (const [key, value] of Object.entries(raw)) {
    if ((POLICY_COUNTS as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -1) f.problem(`policy.${key}`, `must be an integer ≥ 0 (or -1 for unlimited), got ${show(value)}`);
      else out[key] = value;
    } else if (key === 'keepTags') {
      if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && t !== '')) f.problem('policy.keepTags', `must be a list of tags, got ${show(value)}`);
      else out[key] = value as string[];
    } else {
      f.problem(`policy.${key}`, `unknown rule (rules: ${[...POLICY_COUNTS, 'keepTags'].join(', ')})`);
    }
  }
  const keeps = POLICY_COUNTS.some((k) => typeof out[k] === 'number' && out[k] !== 0) || (Array.isArray(out.keepTags) && out.keepTags.length > 0);
  if (Object.keys(out).length === Object.keys(raw).length && !keeps) return f.problem('policy', 'keeps nothing (every count is 0 and no keepTags); refusing to remove everything');
  return out;
}
