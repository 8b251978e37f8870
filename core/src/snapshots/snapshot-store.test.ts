import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalBackend } from '../backend/local-backend';
import { MemoryBackend } from '../backend/memory-backend';
import type { Repository } from '../repository/repository';
import { initTestRepository } from '../repository/test-repository';
import { makeSnapshot } from './test-snapshot';
import { findSnapshot, latestForDataset, listSnapshots, listSnapshotsStrict, loadSnapshot, removeSnapshot, saveSnapshot } from './snapshot-store';

describe('snapshot store', () => {
  let repo: Repository;
  beforeEach(async () => {
    repo = await initTestRepository(new MemoryBackend());
  });

  it('saves and loads a snapshot with every field', async () => {
    const snap = makeSnapshot({ parent: 'b'.repeat(64), tags: ['daily', 'x'], root: { mode: 0o755, mtimeNs: '1' }, meta: { k: [1, 'v'] } });
    const id = await saveSnapshot(repo, snap);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await loadSnapshot(repo, id)).toEqual({ ...snap, id });
  });

  it('lists snapshots sorted by time, oldest first', async () => {
    const ids = [];
    for (const time of ['2025-03-03T00:00:00Z', '2025-03-01T00:00:00Z', '2025-03-02T00:00:00Z']) ids.push(await saveSnapshot(repo, makeSnapshot({ time })));
    const { snapshots, failures } = await listSnapshots(repo);
    expect(failures).toEqual([]);
    expect(snapshots.map((s) => s.id)).toEqual([ids[1], ids[2], ids[0]]);
  });

  it('finds latest (with dataset and host filters), by prefix, and reports misses', async () => {
    const a = await saveSnapshot(repo, makeSnapshot({ time: '2025-01-01T00:00:00Z', dataset: 'home', host: 'web1' }));
    const b = await saveSnapshot(repo, makeSnapshot({ time: '2025-01-02T00:00:00Z', dataset: 'db', host: 'web1' }));
    const c = await saveSnapshot(repo, makeSnapshot({ time: '2025-01-03T00:00:00Z', dataset: 'home', host: 'web2' }));
    expect((await findSnapshot(repo, 'latest')).id).toBe(c);
    expect((await findSnapshot(repo, 'latest', { dataset: 'home', host: 'web1' })).id).toBe(a);
    expect((await findSnapshot(repo, 'latest', { dataset: 'db' })).id).toBe(b);
    expect((await findSnapshot(repo, b.slice(0, 10))).id).toBe(b);
    await expect(findSnapshot(repo, 'latest', { dataset: 'nope' })).rejects.toMatchObject({ code: 'E_SNAPSHOT_NOT_FOUND', message: expect.stringContaining('dataset "nope"') });
    await expect(findSnapshot(repo, b, { dataset: 'home' })).rejects.toMatchObject({ code: 'E_SNAPSHOT_NOT_FOUND' });
    await expect(findSnapshot(repo, 'ffffffffffffff00')).rejects.toMatchObject({ code: 'E_SNAPSHOT_NOT_FOUND' });
    expect((await latestForDataset(repo, 'home'))!.id).toBe(c);
    expect((await latestForDataset(repo, 'home', 'web1'))!.id).toBe(a);
    expect(await latestForDataset(repo, 'home', 'web3')).toBeUndefined();
  });

  it('removes a snapshot by prefix', async () => {
    const keep = await saveSnapshot(repo, makeSnapshot({ dataset: 'a' }));
    const gone = await saveSnapshot(repo, makeSnapshot({ dataset: 'b' }));
    expect(await removeSnapshot(repo, gone.slice(0, 12))).toBe(gone);
    expect((await listSnapshots(repo)).snapshots.map((s) => s.id)).toEqual([keep]);
    await expect(removeSnapshot(repo, gone)).rejects.toMatchObject({ code: 'E_SNAPSHOT_NOT_FOUND' });
  });

  it('refuses to save a malformed snapshot', async () => {
    await expect(saveSnapshot(repo, makeSnapshot({ tree: 'not-a-blob-id' }))).rejects.toMatchObject({ code: 'E_INTERNAL' });
  });
});

describe('a damaged snapshot file on disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-snapshots-'));
  });
  afterEach(async () => {
    await fsp.rm(dir, { recursive: true, force: true });
  });

  it('gives E_CORRUPT_OBJECT naming it, while the other snapshots are still listed', async () => {
    const repo = await initTestRepository(new LocalBackend(dir));
    const good1 = await saveSnapshot(repo, makeSnapshot({ time: '2025-01-01T00:00:00Z' }));
    const bad = await saveSnapshot(repo, makeSnapshot({ time: '2025-01-02T00:00:00Z' }));
    const good2 = await saveSnapshot(repo, makeSnapshot({ time: '2025-01-03T00:00:00Z' }));
    const file = path.join(dir, 'snapshots', bad);
    const bytes = await fsp.readFile(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    await fsp.writeFile(file, bytes);

    await expect(loadSnapshot(repo, bad)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT', message: expect.stringContaining(`snapshots/${bad}`) });
    const { snapshots, failures } = await listSnapshots(repo);
    expect(snapshots.map((s) => s.id)).toEqual([good1, good2]);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ id: bad, error: { code: 'E_CORRUPT_OBJECT', message: expect.stringContaining(bad) } });
    await expect(listSnapshotsStrict(repo)).rejects.toMatchObject({ code: 'E_CORRUPT_OBJECT' });
    expect((await findSnapshot(repo, 'latest')).id).toBe(good2);
  });
});
