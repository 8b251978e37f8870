import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { listSnapshots } from '../snapshots/snapshot-store';
import { Catalog } from './catalog';
import { dumpCatalog, localRepository, snapshotOf, tempDir } from './catalog.test-support';
import { syncCatalog } from './indexer';

/** A damaged or stale catalog is set aside and rebuilt; the repository is never touched. */
describe('catalog recovery', () => {
  let dir: string;
  let file: string;
  let repo: Repository;
  let snaps: SnapshotRecord[];
  let healthy: unknown;

  beforeEach(async () => {
    dir = tempDir();
    file = path.join(dir, 'cache', 'catalog.sqlite');
    repo = await localRepository(dir);
    snaps = [
      await snapshotOf(repo, { 'docs/a.pdf': 'a', 'b.txt': 'b' }, { time: '2025-01-01T00:00:00.000Z' }),
      await snapshotOf(repo, Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`many/file-${i}.dat`, `content ${i}`])), { dataset: 'big', time: '2025-01-02T00:00:00.000Z' }),
    ];
    const catalog = Catalog.open(file);
    await syncCatalog(catalog, repo);
    healthy = dumpCatalog(catalog);
    catalog.close();
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function expectRecovered(damage: () => void, kind: 'corrupt' | 'schema'): Promise<void> {
    const original = fs.readFileSync(file);
    damage();
    const damaged = fs.readFileSync(file);
    const catalog = Catalog.open(file);
    try {
      expect(catalog.recovered?.kind).toBe(kind);
      expect(catalog.fresh).toBe(true);
      if (kind === 'corrupt') {
        expect(fs.readFileSync(catalog.recovered!.movedTo!).equals(damaged)).toBe(true); // kept for inspection, untouched
      }
      expect(original.length).toBeGreaterThan(0);
      const report = await syncCatalog(catalog, repo);
      expect([...report.added].sort()).toEqual(snaps.map((s) => s.id).sort());
      expect(dumpCatalog(catalog)).toEqual(healthy);
      expect(catalog.find('*.pdf').map((h) => h.path)).toEqual(['docs/a.pdf']);
      expect(catalog.find('file-1999.dat').map((h) => h.snapshotId)).toEqual([snaps[1]!.id]);
    } finally {
      catalog.close();
    }
    expect((await listSnapshots(repo)).snapshots).toHaveLength(2); // no backup lost
    const reopened = Catalog.open(file);
    expect(reopened.recovered).toBeUndefined();
    reopened.close();
  }

  it('detects a file overwritten with random bytes, moves it aside and rebuilds', async () => {
    await expectRecovered(() => fs.writeFileSync(file, randomBytes(fs.statSync(file).size)), 'corrupt');
  });

  it('detects a truncated file', async () => {
    await expectRecovered(() => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 3)), 'corrupt');
  });

  it('detects damaged pages behind a valid header', async () => {
    await expectRecovered(() => {
      const bytes = fs.readFileSync(file);
      randomBytes(bytes.length - 8192).copy(bytes, 8192); // keep the header and first page, scramble the rest
      fs.writeFileSync(file, bytes);
    }, 'corrupt');
  });

  it('rebuilds a catalog of another schema version', async () => {
    await expectRecovered(() => {
      const db = new Database(file);
      db.pragma('user_version = 999');
      db.close();
    }, 'schema');
  });

  it('starts over when the file was deleted', async () => {
    fs.rmSync(path.dirname(file), { recursive: true });
    const catalog = Catalog.open(file);
    expect(catalog.fresh).toBe(true);
    expect(catalog.recovered).toBeUndefined();
    await syncCatalog(catalog, repo);
    expect(dumpCatalog(catalog)).toEqual(healthy);
    catalog.close();
  });
});
