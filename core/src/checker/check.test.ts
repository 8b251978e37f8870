import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeBlobId, encodeTree } from '@ebm/sdk';
import { LocalBackend } from '../backend/local-backend';
import { MemoryBackend } from '../backend/memory-backend';
import { BlobStore } from '../repository/blob-store';
import { backupFiles, flipByte, newTestRepository, testBytes } from '../repository/blob-store.test-support';
import { MasterIndex } from '../repository/master-index';
import { readPackHeader } from '../repository/pack-reader';
import { PackWriter } from '../repository/pack-writer';
import { blobAad, sealBlob } from '../repository/pack-format';
import type { Repository } from '../repository/repository';
import { saveSnapshot, loadSnapshot } from '../snapshots/snapshot-store';
import { checkRepository } from './check';
import type { CheckReport } from './check-report';
import { selectPacks } from './check-data';

async function sampleRepository(repo: Repository): Promise<void> {
  await backupFiles(repo, { 'a.txt': testBytes(5000), 'dir/b.bin': testBytes(3000, true), 'dir/sub/c': testBytes(100) });
  await backupFiles(repo, { 'a.txt': testBytes(5000), 'dir/other': testBytes(2500) });
}

function mentions(report: CheckReport, name: string): boolean {
  return report.errors.some((e) => e.subject === name || e.message.includes(name));
}

describe('checkRepository', () => {
  it('passes a healthy repository, and --read-data verifies every pack and blob', async () => {
    const repo = await newTestRepository(new MemoryBackend(), 4096);
    await sampleRepository(repo);
    const phases = new Set<string>();
    const report = await checkRepository(repo, { readData: true, onProgress: (p) => phases.add(p.phase) });
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    const index = await MasterIndex.load(repo);
    expect(report.counts).toMatchObject({ snapshots: 2, packs: index.packs().length, blobs: index.size, packsRead: index.packs().length, blobsRead: index.size });
    expect(report.counts.trees).toBe(5); // root and dir, dir/sub; second snapshot: root and dir
    expect([...phases].sort()).toEqual(['index', 'packs', 'read-data', 'snapshots', 'trees']);
  });

  describe('on a local directory', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-check-'));
    });
    afterEach(async () => {
      await fsp.rm(dir, { recursive: true, force: true });
    });

    it('with --read-data detects one flipped byte anywhere in a pack and names the pack', async () => {
      const repo = await newTestRepository(new LocalBackend(path.join(dir, 'repo')), 4096);
      await sampleRepository(repo);
      const index = await MasterIndex.load(repo);
      for (const pack of index.packs()) {
        const handle = { type: 'data' as const, name: pack };
        const header = await readPackHeader(repo, pack);
        const size = (await repo.backend.stat(handle)).size;
        const firstBlob = header[0]!;
        const headerStart = header[header.length - 1]!.offset + header[header.length - 1]!.length;
        const positions = [0, firstBlob.offset + Math.floor(firstBlob.length / 2), headerStart + 5, Math.floor((headerStart + size - 4) / 2), size - 4, size - 3, size - 1];
        for (const position of positions) {
          await flipByte(repo.backend, handle, position);
          const report = await checkRepository(repo, { readData: true });
          expect({ position, ok: report.ok, mentions: mentions(report, pack) }).toEqual({ position, ok: false, mentions: true });
          expect(report.errors.find((e) => e.subject === pack)?.message).toMatch(/hashes to/);
          await flipByte(repo.backend, handle, position); // flip back
        }
      }
      expect((await checkRepository(repo, { readData: true })).errors).toEqual([]);
    });

    it('reports a truncated pack and a missing pack by name without reading data', async () => {
      const repo = await newTestRepository(new LocalBackend(path.join(dir, 'repo')), 4096);
      await sampleRepository(repo);
      const [first, second] = (await MasterIndex.load(repo)).packs().sort();
      const data = await repo.backend.load({ type: 'data', name: first! });
      await repo.backend.save({ type: 'data', name: first! }, data.subarray(0, data.length - 7));
      await repo.backend.remove({ type: 'data', name: second! });
      const report = await checkRepository(repo);
      expect(report.ok).toBe(false);
      expect(report.errors).toEqual(expect.arrayContaining([
        expect.objectContaining({ kind: 'pack', subject: first, message: expect.stringMatching(/truncated or damaged/) }),
        expect.objectContaining({ kind: 'pack', subject: second, message: expect.stringMatching(/missing/) }),
      ]));
    });
  });

  it('reports a corrupt index file and a corrupt snapshot file by name, and carries on', async () => {
    const backend = new MemoryBackend();
    const repo = await newTestRepository(backend, 4096);
    await sampleRepository(repo);
    const [indexId] = (await MasterIndex.load(repo)).indexIds();
    await flipByte(backend, { type: 'index', name: indexId! }, 40);
    const snapshotIds: string[] = [];
    for await (const f of backend.list('snapshots')) snapshotIds.push(f.name);
    await flipByte(backend, { type: 'snapshots', name: snapshotIds[0]! }, -1);
    const report = await checkRepository(repo, { readData: true });
    expect(report.errors).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'index', subject: indexId }),
      expect.objectContaining({ kind: 'snapshot', subject: snapshotIds[0] }),
    ]));
    expect(report.counts.snapshots).toBe(2);
  });

  it('reports a blob a tree references that is not in the index, and a snapshot whose root tree is missing', async () => {
    const repo = await newTestRepository();
    const good = await backupFiles(repo, { 'x': testBytes(100) });
    const missing = computeBlobId(repo.keys.id, Buffer.from('never stored'));
    const store = await BlobStore.open(repo);
    const tree = encodeTree([{ name: 'ghost', kind: 'file', size: 12, content: [missing] }]);
    const treeId = computeBlobId(repo.keys.id, tree);
    await store.saveBlob('tree', treeId, tree);
    await store.flush();
    const template = await loadSnapshot(repo, good.id);
    const { id: _id, ...snapshot } = template;
    await saveSnapshot(repo, { ...snapshot, tree: treeId });
    const orphanTree = computeBlobId(repo.keys.id, Buffer.from('no such tree'));
    const orphan = await saveSnapshot(repo, { ...snapshot, tree: orphanTree, time: new Date(Date.now() + 1000).toISOString() });
    const report = await checkRepository(repo);
    expect(report.errors).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'blob', subject: missing, message: expect.stringContaining('"ghost"') }),
      expect.objectContaining({ kind: 'snapshot', subject: orphan }),
    ]));
    expect(report.errors).toHaveLength(3); // the ghost blob, and the orphan root reported as blob and as snapshot
  });

  it('lists packs no index names as unreferenced, not as errors', async () => {
    const repo = await newTestRepository();
    await sampleRepository(repo);
    const writer = new PackWriter(repo.cipher, 4096);
    const plain = testBytes(500);
    const id = computeBlobId(repo.keys.id, plain);
    writer.add('data', id, sealBlob(repo.cipher, 3, plain, blobAad(repo, id)), plain.length);
    const [leftover] = writer.finishAll();
    await repo.backend.save({ type: 'data', name: leftover!.name }, leftover!.contents);
    const report = await checkRepository(repo, { readData: true });
    expect(report.ok).toBe(true);
    expect(report.unreferencedPacks).toEqual([leftover!.name]);
  });

  it('reads a subset: the n-of-t groups partition the packs; a percentage reads about that share', async () => {
    const packs = Array.from({ length: 40 }, (_, i) => computeBlobId(Buffer.alloc(32), Buffer.from([i])));
    const groups = [1, 2, 3].map((nth) => selectPacks(packs, { nth, of: 3 }));
    expect(groups.flat().sort()).toEqual([...packs].sort());
    expect(new Set(groups.flat()).size).toBe(40);
    expect(selectPacks(packs, { percent: 25 })).toHaveLength(10);
    expect(selectPacks(packs, { percent: 0.1 })).toHaveLength(1);

    const repo = await newTestRepository(new MemoryBackend(), 4096);
    await sampleRepository(repo);
    const all = (await MasterIndex.load(repo)).packs().length;
    const reads = await Promise.all([1, 2].map((nth) => checkRepository(repo, { readDataSubset: { nth, of: 2 } })));
    expect(reads[0]!.counts.packsRead + reads[1]!.counts.packsRead).toBe(all);
  });
});
