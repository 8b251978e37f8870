import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { Catalog } from './catalog';
import { localRepository, snapshotOf, tempDir } from './catalog.test-support';
import { syncCatalog } from './indexer';

describe.each(['auto', 'walk-up', 'walk-down'] as const)('Catalog.find (strategy %s)', (strategy) => {
  let dir: string;
  let repo: Repository;
  let catalog: Catalog;
  let home1: SnapshotRecord;
  let home2: SnapshotRecord;
  let work: SnapshotRecord;

  beforeAll(async () => {
    dir = tempDir();
    repo = await localRepository(dir);
    home1 = await snapshotOf(repo, {
      'docs/2024/report-q1.pdf': 'q1',
      'docs/report.txt': 'r',
      'photos/cat.jpg': 'meow',
      'deep/a/b/c/report-old.pdf': 'old',
    }, { dataset: 'home', time: '2025-01-01T00:00:00.000Z' });
    home2 = await snapshotOf(repo, {
      'docs/2024/report-q1.pdf': 'q1',
      'docs/2024/report-q2.pdf': 'q2',
      'docs/report.txt': 'r',
      'photos/cat.jpg': 'meow',
      'deep/a/b/c/report-old.pdf': 'old',
    }, { dataset: 'home', time: '2025-02-01T00:00:00.000Z' });
    work = await snapshotOf(repo, {
      'projects/docs/report-final.pdf': 'final',
      'docs/invoice.pdf': 'inv',
      'report.pdf/readme': 'a directory named like a pdf',
    }, { dataset: 'work', time: '2025-01-15T00:00:00.000Z' });
    catalog = Catalog.open(path.join(dir, 'catalog.sqlite'));
    await syncCatalog(catalog, repo);
  });
  afterAll(() => {
    catalog.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const found = (pattern: string, options = {}) => catalog.find(pattern, { strategy, ...options }).map((h) => `${h.dataset}@${h.time.slice(0, 10)}:${h.path}`);

  it('matches a basename glob at any depth across snapshots and datasets, newest first', () => {
    expect(found('*.pdf')).toEqual([
      'home@2025-02-01:deep/a/b/c/report-old.pdf',
      'home@2025-02-01:docs/2024/report-q1.pdf',
      'home@2025-02-01:docs/2024/report-q2.pdf',
      'work@2025-01-15:docs/invoice.pdf',
      'work@2025-01-15:projects/docs/report-final.pdf',
      'work@2025-01-15:report.pdf',
      'home@2025-01-01:deep/a/b/c/report-old.pdf',
      'home@2025-01-01:docs/2024/report-q1.pdf',
    ]);
  });

  it('returns snapshot id, kind, size and mtime with each hit', () => {
    const [hit] = catalog.find('cat.jpg', { dataset: 'home', limit: 1, strategy });
    expect(hit).toEqual({
      snapshotId: home2.id, dataset: 'home', host: 'web1', time: '2025-02-01T00:00:00.000Z', path: 'photos/cat.jpg',
      kind: 'file', size: 4, mtimeNs: '1700000000123456789', fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('matches path globs anchored at the snapshot root, with ** for any depth', () => {
    expect(found('docs/**/report*')).toEqual([
      'home@2025-02-01:docs/2024/report-q1.pdf',
      'home@2025-02-01:docs/2024/report-q2.pdf',
      'home@2025-02-01:docs/report.txt',
      'home@2025-01-01:docs/2024/report-q1.pdf',
      'home@2025-01-01:docs/report.txt',
    ]);
    expect(found('**/docs/report-*.pdf')).toEqual(['work@2025-01-15:projects/docs/report-final.pdf']);
    expect(found('/deep/*/b/**')).toEqual(['home@2025-02-01:deep/a/b/c', 'home@2025-02-01:deep/a/b/c/report-old.pdf', 'home@2025-01-01:deep/a/b/c', 'home@2025-01-01:deep/a/b/c/report-old.pdf']);
    expect(found('report-q[!1].pdf')).toEqual(['home@2025-02-01:docs/2024/report-q2.pdf']);
    expect(found('report-q?.pdf', { snapshot: home1.id.slice(0, 10) })).toEqual(['home@2025-01-01:docs/2024/report-q1.pdf']);
  });

  it('filters by dataset, snapshot, kind and a trailing slash for directories, and honours the limit', () => {
    expect(found('*.pdf', { dataset: 'work' })).toHaveLength(3);
    expect(found('*.pdf', { snapshot: work.id })).toHaveLength(3);
    expect(found('*.pdf', { kind: 'dir' })).toEqual(['work@2025-01-15:report.pdf']);
    expect(found('*.pdf/')).toEqual(['work@2025-01-15:report.pdf']);
    expect(found('*.pdf', { limit: 2 })).toHaveLength(2);
    expect(found('nothing-like-this')).toEqual([]);
    expect(() => catalog.find('')).toThrow(/pattern is empty/);
    expect(() => catalog.find('*', { limit: 0 })).toThrow(/--limit must be a positive integer/);
  });
});
