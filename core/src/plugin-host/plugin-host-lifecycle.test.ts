import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { BlobLoans, DEFAULT_CHUNKER_SIZES } from '@ebm/sdk';
import type { BackupJobSpec, RestoreJobSpec } from '@ebm/sdk';
import { HostEventMap, HostEvents } from '../events/host-events';
import { MemoryBlobServer } from './memory-blob-server';
import { PluginHost } from './plugin-host';
import { PluginRegistry } from './plugin-registry';

const FIXTURES = path.resolve(__dirname, '../../test-fixtures/plugins');
const registry = PluginRegistry.discover({ dirs: [FIXTURES], pluginPath: '', searchNodeModules: false });
// eslint-disable-next-line @typescript-eslint/no-require-imports
const okFixture = require(path.join(FIXTURES, 'ok', 'index.js')) as { fixtureFiles(source: string): Record<string, Buffer> };

const idKey = randomBytes(32);
const gearKey = randomBytes(32);
const backupJob = (source: string): BackupJobSpec => ({
  op: 'backup',
  source,
  options: {},
  addressing: { idKey, chunker: { algorithm: 'fastcdc-gear32-v1', ...DEFAULT_CHUNKER_SIZES, gearKey } },
  windowBytes: 2 << 20,
});

type Recorded = { [K in keyof HostEventMap]: Array<HostEventMap[K][0]> };
function record(events: HostEvents): Recorded {
  const seen = {} as Recorded;
  for (const name of ['plugin:loaded', 'plugin:unloaded', 'plugin:crashed', 'job:started', 'job:progress', 'job:log', 'job:warning', 'job:finished'] as const) {
    const list: unknown[] = [];
    (seen as Record<string, unknown[]>)[name] = list;
    events.on(name, (e: unknown) => list.push(e));
  }
  return seen;
}

const waitFor = <K extends keyof HostEventMap>(events: HostEvents, name: K) => new Promise<HostEventMap[K][0]>((resolve) => events.once(name, resolve as never));

describe('PluginHost with the ok plugin', () => {
  let tmp: string;
  beforeEach(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'ebm-host-'));
  });
  afterEach(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('round-trips a backup and a restore through a blob server, reporting progress, logs and warnings', async () => {
    const events = new HostEvents();
    const seen = record(events);
    const host = new PluginHost({}, events);
    const server = new MemoryBlobServer(idKey);
    const warnings: unknown[] = [];
    try {
      const backup = await host.run(registry.get('ok'), backupJob('/virtual/src'), server, { jobId: 'b1', onWarning: (w) => warnings.push(w) });
      expect(backup.op).toBe('backup');
      expect(backup.meta).toEqual({ fixture: 'ok' });
      expect(backup.stats.files).toBe(3);
      expect(backup.stats.blobsShipped).toBeGreaterThanOrEqual(4); // 3+ content chunks, and trees
      expect(server.has(backup.tree)).toBe(true);
      expect(backup.warnings).toEqual([{ path: 'docs/skipped', code: 'E_PERMISSION', message: 'ok fixture: pretend this file was unreadable' }]);
      expect(warnings).toEqual(backup.warnings);

      // A second backup of the same content ships no data blobs (the server already has them).
      const before = server.size;
      const again = await host.run(registry.get('ok'), backupJob('/virtual/src'), server, { jobId: 'b2' });
      expect(again.tree).toBe(backup.tree);
      expect(server.size).toBe(before);

      const target = path.join(tmp, 'restored');
      const restoreJob: RestoreJobSpec = {
        op: 'restore',
        target,
        overwrite: false,
        tree: backup.tree,
        snapshot: { id: 'snap-1', time: new Date().toISOString(), source: '/virtual/src', dataset: 'fixture' },
        includes: [],
        options: {},
      };
      const restored = await host.run(registry.get('ok'), restoreJob, server, { jobId: 'r1' });
      expect(restored.op).toBe('restore');
      const expected = okFixture.fixtureFiles('/virtual/src');
      for (const [name, bytes] of Object.entries(expected)) {
        expect((await readFile(path.join(target, name))).equals(bytes)).toBe(true);
      }

      expect(seen['job:started'].map((e) => [e.jobId, e.op])).toEqual([['b1', 'backup'], ['b2', 'backup'], ['r1', 'restore']]);
      expect(seen['job:finished'].map((e) => [e.jobId, e.ok])).toEqual([['b1', true], ['b2', true], ['r1', true]]);
      expect(seen['job:progress'].some((e) => e.jobId === 'b1' && e.pluginId === 'ok')).toBe(true);
      expect(seen['job:log'].some((e) => e.jobId === 'b1' && e.message === 'ok fixture: backup started')).toBe(true);
      expect(seen['job:warning'].filter((e) => e.jobId === 'b1').map((e) => e.warning.path)).toEqual(['docs/skipped']);
      expect(seen['plugin:loaded'].map((e) => [e.pluginId, e.heapMiB])).toEqual([['ok', 96]]);
    } finally {
      await host.close();
    }
  });

  it('unloads an idle plugin after idleTimeout and loads it again on next use', async () => {
    const events = new HostEvents();
    const seen = record(events);
    const host = new PluginHost({ idleTimeoutMs: 300 }, events);
    try {
      await host.run(registry.get('ok'), backupJob('/a'), new MemoryBlobServer(idKey), { jobId: 'j1' });
      expect(host.loadedPlugins()).toEqual(['ok']);
      // A restore ring this thread keeps for the next job (as a restore's host session leaves it) ...
      const capacity = 64 * 1024 + 3;
      const lender = new BlobLoans({ capacity });
      const kept = lender.lend(1, 10)!;
      lender.giveBack(1);
      lender.close();
      const unloaded = await waitFor(events, 'plugin:unloaded');
      expect(unloaded).toEqual({ pluginId: 'ok', reason: 'idle' });
      expect(host.loadedPlugins()).toEqual([]);
      // ... is let go once nothing is loaded: the next job's ring is a new one.
      const next = new BlobLoans({ capacity });
      expect(next.lend(1, 10)!.buffer).not.toBe(kept.buffer);

      const again = await host.run(registry.get('ok'), backupJob('/a'), new MemoryBlobServer(idKey), { jobId: 'j2' });
      expect(again.op).toBe('backup');
      expect(seen['plugin:loaded'].map((e) => e.pluginId)).toEqual(['ok', 'ok']);
    } finally {
      await host.close();
    }
    expect(seen['plugin:unloaded'].map((e) => e.reason)).toEqual(['idle', 'closed']);
  });

  it('prewarm starts a worker that the next job then uses (no second, cold thread)', async () => {
    const events = new HostEvents();
    const seen = record(events);
    const host = new PluginHost({ maxThreads: 2 }, events);
    try {
      host.prewarm(registry.get('ok'));
      host.prewarm(registry.get('ok')); // a second call while the first is loading starts nothing more
      expect(host.workerThreads('ok')).toBe(1);
      // The job is submitted at once, while the preload is still starting its thread.
      const result = await host.run(registry.get('ok'), backupJob('/a'), new MemoryBlobServer(idKey), { jobId: 'j1' });
      expect(result.op).toBe('backup');
      expect(host.workerThreads('ok')).toBe(1);
      const again = await host.run(registry.get('ok'), backupJob('/b'), new MemoryBlobServer(idKey), { jobId: 'j2' });
      expect(again.op).toBe('backup');
      const threads = seen['job:log'].filter((l) => l.message === 'ok fixture: backup started').map((l) => l.fields?.thread);
      expect(threads).toHaveLength(2);
      expect(threads[1]).toBe(threads[0]);
      expect(seen['plugin:loaded']).toHaveLength(1);
    } finally {
      await host.close();
    }
    expect(host.workerThreads('ok')).toBe(0);
  });

  it('runs at most maxThreads jobs of a plugin at once; the others wait and then run', async () => {
    const events = new HostEvents();
    const host = new PluginHost({ maxThreads: 1 }, events);
    let running = 0;
    let peak = 0;
    events.on('job:log', (e) => {
      if (e.message !== 'ok fixture: backup started') return;
      running++;
      peak = Math.max(peak, running);
    });
    events.on('job:finished', () => running--);
    try {
      const results = await Promise.all(['x', 'y', 'z'].map((s, i) => host.run(registry.get('ok'), backupJob(`/${s}`), new MemoryBlobServer(idKey), { jobId: `c${i}` })));
      expect(results.map((r) => r.op)).toEqual(['backup', 'backup', 'backup']);
      expect(peak).toBe(1);
    } finally {
      await host.close();
    }
  });
});
