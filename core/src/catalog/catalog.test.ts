import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { EbmError } from '@ebm/sdk';
import { walkTree } from '../browse/tree-walker';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import { removeSnapshot } from '../snapshots/snapshot-store';
import { Catalog } from './catalog';
import { dumpCatalog, localRepository, snapshotOf, tempDir } from './catalog.test-support';
import { rebuildCatalog, syncCatalog } from './indexer';

const LAYOUT = {
  'docs/report-2024.pdf': 'annual report',
  'docs/notes.txt': 'notes',
  'docs/drafts/report-draft.pdf': 'draft',
  'src/main.ts': 'console.log(1)',
  'src/empty.txt': '',
  'README.md': 'readme',
  'link': { symlink: 'docs/notes.txt' },
};

describe('Catalog', () => {
  let dir: string;
  let repo: Repository;
  let catalog: Catalog;

  beforeEach(async () => {
    dir = tempDir();
    repo = await localRepository(dir);
    catalog = Catalog.open(path.join(dir, 'catalog.sqlite'));
  });
  afterEach(() => {
    catalog.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists every directory exactly like walking the repository, with metadata and fingerprints', async () => {
    const snap = await snapshotOf(repo, LAYOUT);
    const report = await syncCatalog(catalog, repo);
    expect(report.added).toEqual([snap.id]);
    expect(catalog.fresh).toBe(true);

    const store = await BlobStore.open(repo);
    const expected = [];
    for await (const { path: p, entry: e } of walkTree(store, snap.tree)) {
      expected.push({
        path: p, name: e.name, kind: e.kind, size: e.size, mode: e.mode, uid: e.uid, gid: e.gid, user: e.user, group: e.group, mtimeNs: e.mtimeNs, target: e.target,
        fingerprint: e.kind === 'dir' ? e.subtree : e.content ? createHash('sha256').update(e.content.join('\n')).digest('hex') : undefined,
      });
    }
    const strip = (o: object) => JSON.parse(JSON.stringify(o)) as unknown; // drop undefined members
    expect([...catalog.walk(snap.id)].map(strip)).toEqual(expected.map(strip));
    expect(catalog.listDirectory(snap.id).map((e) => e.path)).toEqual(['README.md', 'docs', 'link', 'src']);
    expect(catalog.listDirectory(snap.id, 'docs/').map((e) => [e.path, e.kind, e.size])).toEqual([
      ['docs/drafts', 'dir', undefined],
      ['docs/notes.txt', 'file', 5],
      ['docs/report-2024.pdf', 'file', 13],
    ]);
    expect(catalog.entry(snap.id, 'link')).toMatchObject({ kind: 'symlink', target: 'docs/notes.txt' });
  });

  it('gives equal content equal fingerprints and different content different ones', async () => {
    const snap = await snapshotOf(repo, { 'a.txt': 'same', 'b/c.txt': 'same', 'd.txt': 'other' });
    await syncCatalog(catalog, repo);
    const fp = (p: string) => catalog.entry(snap.id, p)!.fingerprint;
    expect(fp('a.txt')).toBe(fp('b/c.txt'));
    expect(fp('a.txt')).not.toBe(fp('d.txt'));
  });

  it('refuses paths that do not exist or are not directories', async () => {
    const snap = await snapshotOf(repo, LAYOUT);
    await syncCatalog(catalog, repo);
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as EbmError).code;
      }
      return 'no error';
    };
    expect(codeOf(() => catalog.listDirectory(snap.id, 'nope'))).toBe('E_PATH_NOT_IN_SNAPSHOT');
    expect(codeOf(() => catalog.listDirectory(snap.id, 'README.md'))).toBe('E_PATH_NOT_IN_SNAPSHOT');
    expect(codeOf(() => catalog.listDirectory(snap.id, 'README.md/x'))).toBe('E_PATH_NOT_IN_SNAPSHOT');
    expect(codeOf(() => catalog.listDirectory('f'.repeat(64)))).toBe('E_SNAPSHOT_NOT_FOUND');
  });

  it('stores a tree shared by several snapshots once', async () => {
    await snapshotOf(repo, LAYOUT, { time: '2025-01-01T00:00:00.000Z' });
    await syncCatalog(catalog, repo);
    const once = catalog.status();
    await snapshotOf(repo, LAYOUT, { dataset: 'copy', time: '2025-01-02T00:00:00.000Z' });
    await snapshotOf(repo, { ...LAYOUT, 'src/new.ts': 'new' }, { time: '2025-01-03T00:00:00.000Z' });
    const report = await syncCatalog(catalog, repo);
    expect(report.added).toHaveLength(2);
    const after = catalog.status();
    expect(after.snapshots).toBe(3);
    // the third snapshot rewrote only the root (4 entries) and src/ (3 entries)
    expect(after.entries - once.entries).toBe(4 + 3);
    expect(after.trees - once.trees).toBe(2);
  });

  it('resolves latest, ids and prefixes like the repository does', async () => {
    const a = await snapshotOf(repo, LAYOUT, { time: '2025-01-01T00:00:00.000Z' });
    const b = await snapshotOf(repo, { x: 'x' }, { dataset: 'other', time: '2025-01-02T00:00:00.000Z' });
    await syncCatalog(catalog, repo);
    expect(catalog.resolveSnapshot('latest').snapshotId).toBe(b.id);
    expect(catalog.resolveSnapshot('latest', { dataset: 'home' }).snapshotId).toBe(a.id);
    expect(catalog.resolveSnapshot(a.id.slice(0, 8)).snapshotId).toBe(a.id);
    expect(() => catalog.resolveSnapshot('latest', { dataset: 'none' })).toThrow(/no snapshot of dataset "none"/);
  });

  it('records the snapshot warnings as error codes of the entries', async () => {
    const snap = await snapshotOf(repo, LAYOUT, { warnings: [{ path: 'docs/notes.txt', code: 'E_SOURCE_CHANGED', message: 'changed while read' }] });
    await syncCatalog(catalog, repo);
    expect(catalog.entry(snap.id, 'docs/notes.txt')?.errorCode).toBe('E_SOURCE_CHANGED');
    expect(catalog.listDirectory(snap.id, 'docs').map((e) => e.errorCode)).toEqual([undefined, 'E_SOURCE_CHANGED', undefined]);
  });

  it('removes forgotten snapshots on sync, with the trees only they used', async () => {
    const keep = await snapshotOf(repo, LAYOUT, { time: '2025-01-01T00:00:00.000Z' });
    const gone = await snapshotOf(repo, { ...LAYOUT, 'only-here/unique-name.bin': 'u' }, { time: '2025-01-02T00:00:00.000Z' });
    await syncCatalog(catalog, repo);
    expect(catalog.find('unique-name.bin').map((h) => h.snapshotId)).toEqual([gone.id]);
    const before = catalog.status();

    await removeSnapshot(repo, gone.id);
    const report = await syncCatalog(catalog, repo);
    expect(report).toMatchObject({ added: [], removed: [gone.id], snapshotsInRepository: 1 });
    expect(catalog.snapshots().map((s) => s.snapshotId)).toEqual([keep.id]);
    expect(catalog.find('unique-name.bin')).toEqual([]);
    expect(() => catalog.listDirectory(gone.id)).toThrow(/not in the catalog/);
    const after = catalog.status();
    expect(before.trees - after.trees).toBe(2); // gone's root and only-here/
    expect(after.names).toBeLessThan(before.names);
    expect(catalog.listDirectory(keep.id, 'docs')).toHaveLength(3);
  });

  it('rebuilt from the repository alone, equals the incrementally synced catalog', async () => {
    await snapshotOf(repo, LAYOUT, { time: '2025-01-01T00:00:00.000Z' });
    await syncCatalog(catalog, repo);
    const forgotten = await snapshotOf(repo, { ...LAYOUT, 'tmp/x': 'x' }, { time: '2025-01-02T00:00:00.000Z' });
    await syncCatalog(catalog, repo);
    await snapshotOf(repo, { ...LAYOUT, 'src/main.ts': 'changed' }, { dataset: 'work', time: '2025-01-03T00:00:00.000Z' });
    await removeSnapshot(repo, forgotten.id);
    await syncCatalog(catalog, repo);

    const file = path.join(dir, 'rebuilt.sqlite');
    fs.writeFileSync(file, 'an old catalog that the rebuild replaces');
    const { catalog: rebuilt, report } = await rebuildCatalog(repo, file);
    try {
      expect(report.added).toHaveLength(2);
      expect(dumpCatalog(rebuilt)).toEqual(dumpCatalog(catalog));
      const { file: _f, sizeBytes: _s, ...counts } = rebuilt.status();
      const { file: _f2, sizeBytes: _s2, ...incremental } = catalog.status();
      expect(counts).toEqual(incremental); // garbage collection left nothing behind
      expect(fs.readdirSync(dir).filter((f) => f.includes('rebuild-'))).toEqual([]);
    } finally {
      rebuilt.close();
    }
  });
});
