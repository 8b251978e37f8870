import 'reflect-metadata';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { BackupService } from '../backup/backup-service';
import { walkTree } from '../browse/tree-walker';
import { createContainer } from '../container';
import { generateSampleTree } from '../demo/sample-tree';
import { PluginHost } from '../plugin-host/plugin-host';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import { Catalog } from './catalog';
import { localRepository, tempDir } from './catalog.test-support';
import { syncCatalog } from './indexer';

/** Real files, backed up by the real BackupService through the filesystem translator in a worker thread. */
describe('the catalog of real filesystem backups', () => {
  let dir: string;
  let container: DependencyContainer;
  let repo: Repository;

  beforeAll(async () => {
    dir = tempDir();
    container = createContainer({ discovery: { pluginPath: '' } });
    repo = await localRepository(dir);
  });
  afterAll(async () => {
    await container.resolve(PluginHost).close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('indexes the snapshots as the repository stores them, and finds files across datasets', async () => {
    const photos = path.join(dir, 'photos');
    const docs = path.join(dir, 'docs');
    await generateSampleTree(photos, { files: 300, seed: 1 });
    await generateSampleTree(docs, { files: 200, seed: 2 });
    fs.mkdirSync(path.join(docs, 'reports', '2024'), { recursive: true });
    fs.writeFileSync(path.join(docs, 'reports', '2024', 'annual-report.pdf'), 'pdf bytes');
    fs.writeFileSync(path.join(photos, 'holiday-report.pdf'), 'another pdf');

    const backup = container.resolve(BackupService);
    const a = await backup.backup({ repository: repo, translator: 'filesystem', source: photos, dataset: 'photos' });
    const b = await backup.backup({ repository: repo, translator: 'filesystem', source: docs, dataset: 'docs' });

    const catalog = Catalog.open(path.join(dir, 'catalog.sqlite'));
    try {
      const report = await syncCatalog(catalog, repo);
      expect([...report.added].sort()).toEqual([a.snapshotId, b.snapshotId].sort());
      expect(report.failed).toEqual([]);

      const store = await BlobStore.open(repo);
      for (const snap of [a.snapshot, b.snapshot]) {
        const fromRepo: string[] = [];
        for await (const { path: p, entry: e } of walkTree(store, snap.tree)) fromRepo.push(`${e.kind} ${p} ${e.size ?? '-'} ${e.mode ?? '-'} ${e.mtimeNs ?? '-'} ${e.target ?? ''}`);
        const fromCatalog = [...catalog.walk(snap.id)].map((e) => `${e.kind} ${e.path} ${e.size ?? '-'} ${e.mode ?? '-'} ${e.mtimeNs ?? '-'} ${e.target ?? ''}`);
        expect(fromCatalog).toEqual(fromRepo);
        expect(fromCatalog.length).toBeGreaterThan(200);
      }

      expect(catalog.find('*.pdf').map((h) => `${h.dataset}:${h.path}`)).toEqual(['docs:reports/2024/annual-report.pdf', 'photos:holiday-report.pdf']);
      expect(catalog.find('reports/**/*-report.pdf')).toEqual([
        expect.objectContaining({ snapshotId: b.snapshotId, dataset: 'docs', path: 'reports/2024/annual-report.pdf', kind: 'file', size: 9 }),
      ]);
      const listed = catalog.listDirectory(b.snapshotId, 'reports/2024');
      expect(listed).toEqual([expect.objectContaining({ name: 'annual-report.pdf', size: 9, mode: expect.any(Number), uid: process.getuid?.() })]);
    } finally {
      catalog.close();
    }
  });
});
