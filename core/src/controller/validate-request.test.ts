import * as path from 'node:path';
import { PluginRegistry } from '../plugin-host/plugin-registry';
import { validateRequest } from './validate-request';
import { rejection as rejectionIn } from './rejection.test-support';

const FIXTURES = path.resolve(__dirname, '../../test-fixtures/plugins');
const plugins = PluginRegistry.discover({ dirs: [FIXTURES], pluginPath: '' });
const context = { repositories: ['main', 'offsite'], plugins, repositoryEncryption: new Map([['main', 'aes-256-gcm' as const], ['offsite', 'none' as const]]), now: () => new Date('2030-01-01T00:00:00Z') };

const rejection = (input: unknown): string => rejectionIn(input, context);

const backup = { kind: 'backup', dataset: 'home', repository: 'main', source: '/home' };

describe('validateRequest (the backup controller)', () => {
  it('fills defaults for a minimal backup request', () => {
    expect(validateRequest(backup, context)).toEqual({ kind: 'backup', dataset: 'home', repository: 'main', translator: 'filesystem', source: '/home', options: {}, tags: [], full: false, priority: 0, verify: false });
  });

  it('keeps valid options, tags, deadline and a compression level where the repository allows it', () => {
    const r = validateRequest({ ...backup, repository: 'offsite', options: { exclude: ['*.tmp'], xattrs: false }, tags: ['b', 'a', 'b'], deadline: '2030-01-01T06:00:00+01:00', priority: -100, verify: true, full: true, compressionLevel: 19, encryption: false, retry: { attempts: 5, backoffMs: 1000, maxBackoffMs: 8000 } }, context);
    expect(r).toMatchObject({ repository: 'offsite', options: { exclude: ['*.tmp'], xattrs: false }, tags: ['a', 'b'], deadline: '2030-01-01T05:00:00.000Z', priority: -100, verify: true, full: true, compressionLevel: 19, retry: { attempts: 5, backoffMs: 1000, maxBackoffMs: 8000 } });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['priority', { priority: 500 }, /^invalid backup request: priority: must be an integer between -100 and 100, got 500$/],
    ['priority type', { priority: '1' }, /priority: must be an integer between -100 and 100, got "1"/],
    ['translator', { translator: 'x' }, /translator: no installed plugin 'x' \(available: .*filesystem.*\)/],
    ['broken translator', { translator: 'bad-manifest' }, /translator: plugin 'bad-manifest' is installed but unusable/],
    ['deadline past', { deadline: '2029-12-31T23:00:00Z' }, /deadline: must be in the future/],
    ['deadline garbage', { deadline: 'tomorrow' }, /deadline: must be an ISO date-time/],
    ['repository', { repository: 'nope' }, /repository: no configured repository "nope" \(configured: main, offsite\)/],
    ['dataset', { dataset: '../etc' }, /dataset: "..\/etc" must be 1-128 letters/],
    ['missing source', { source: undefined }, /source: is required/],
    ['option unknown', { options: { exclud: 'x' } }, /options.exclud: translator 'filesystem' has no backup option "exclud"/],
    ['option type', { options: { exclude: 'x' } }, /options.exclude: must be a string\[\], got "x"/],
    ['tags', { tags: 'daily' }, /tags: must be a list of non-empty strings/],
    ['typo', { verfiy: true }, /verfiy: unknown field for a backup request/],
    ['encryption off for an encrypted repository', { encryption: false }, /encryption: repository "main" is encrypted \(aes-256-gcm\); encryption is chosen per repository/],
    ['encryption on for an unencrypted repository', { repository: 'offsite', encryption: true }, /encryption: repository "offsite" is unencrypted/],
    ['encryption not a boolean', { encryption: 'yes' }, /encryption: must be true or false, got "yes"/],
    ['compression range', { repository: 'offsite', compressionLevel: 40 }, /compressionLevel: must be an integer between 0 and 22/],
    ['retry not an object', { retry: 3 }, /retry: must be an object \{ attempts, backoffMs, maxBackoffMs \}, got 3/],
    ['retry fields', { retry: { attempts: 0, backoffMs: 10, maxBackoffMs: 5, jitter: 1 } }, /retry\.attempts: must be an integer between 1 and 100, got 0; retry\.maxBackoffMs: must be at least backoffMs \(10\), got 5|retry\.attempts: must be an integer between 1 and 100, got 0; retry\.jitter: unknown field/],
    ['retry missing field', { retry: { attempts: 2, backoffMs: 10 } }, /retry\.maxBackoffMs: is required/],
  ])('names the field at fault: %s', (_name, patch, message) => {
    expect(rejection({ ...backup, ...patch })).toMatch(message);
  });

  it('reports every bad field at once', () => {
    expect(rejection({ ...backup, priority: 1.5, translator: 'x', tags: [1] })).toMatch(/priority: .*; translator: .*; tags: /);
  });

  it('validates restore, verify, forget and prune requests', () => {
    expect(validateRequest({ kind: 'restore', repository: 'main', snapshot: 'latest', target: '/tmp/r' }, context)).toEqual({ kind: 'restore', repository: 'main', snapshot: 'latest', target: '/tmp/r', includes: [], overwrite: false, priority: 0 });
    expect(rejection({ kind: 'restore', repository: 'main', snapshot: 'abc', target: 'relative' })).toMatch(/target: must be an absolute path/);
    expect(validateRequest({ kind: 'verify', repository: 'main', readDataSubset: '10%' }, context)).toEqual({ kind: 'verify', repository: 'main', readDataSubset: '10%', priority: 0 });
    expect(rejection({ kind: 'verify', repository: 'main', readDataSubset: '3/2' })).toMatch(/readDataSubset: must be a percentage/);
    expect(validateRequest({ kind: 'forget', repository: 'main', dataset: 'home', policy: { keepDaily: 7, keepTags: ['keep'] }, prune: true }, context)).toEqual({ kind: 'forget', repository: 'main', dataset: 'home', policy: { keepDaily: 7, keepTags: ['keep'] }, prune: true, priority: 0 });
    expect(rejection({ kind: 'forget', repository: 'main' })).toMatch(/policy: a forget request needs a retention policy/);
    expect(rejection({ kind: 'forget', repository: 'main', policy: { keepLast: 0 } })).toMatch(/policy: keeps nothing/);
    expect(rejection({ kind: 'forget', repository: 'main', policy: { keepDialy: 3 } })).toMatch(/policy.keepDialy: unknown rule/);
    expect(validateRequest({ kind: 'prune', repository: 'main' }, context)).toEqual({ kind: 'prune', repository: 'main', prune: true, priority: 0 });
    expect(rejection({ kind: 'snapshot', repository: 'main' })).toMatch(/kind: must be one of backup, restore, verify, forget, prune/);
    expect(rejection('backup')).toMatch(/must be a JSON object/);
  });
});
