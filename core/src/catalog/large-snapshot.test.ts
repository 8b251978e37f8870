import * as fs from 'node:fs';
import * as path from 'node:path';
import { Catalog } from './catalog';
import { largeSnapshot, localRepository, tempDir } from './catalog.test-support';
import { syncCatalog } from './indexer';

/** Correctness at scale; the speed of the same operations is measured by bench/catalog-bench.js. */
describe('a 100k-file snapshot in the catalog', () => {
  it('lists its directories with the right entries, and finds single files in it', async () => {
    const dir = tempDir();
    const catalog = Catalog.open(path.join(dir, 'catalog.sqlite'));
    try {
      const repo = await localRepository(dir);
      const { snapshot, layout } = await largeSnapshot(repo, { files: 100_000, flat: 20_000, perDir: 1000 });
      const report = await syncCatalog(catalog, repo);
      expect(report.entries).toBe(100_000 + 80 + 2);
      expect(catalog.status()).toMatchObject({ snapshots: 1, trees: 83, entries: 100_082 });

      const flat = catalog.listDirectory(snapshot.id, 'flat');
      expect(flat.map((e) => ({ name: e.name, size: e.size }))).toEqual(layout.dirs.get('flat'));
      expect(flat[12_345]).toMatchObject({ path: 'flat/file-012345.dat', kind: 'file', mode: 0o100644, mtimeNs: '1700012345000000000' });

      const nested = catalog.listDirectory(snapshot.id, 'nested');
      expect(nested.map((e) => e.name)).toEqual(Array.from({ length: 80 }, (_, d) => `d${String(d).padStart(3, '0')}`));
      const d042 = catalog.listDirectory(snapshot.id, 'nested/d042');
      expect(d042.map((e) => ({ name: e.name, size: e.size }))).toEqual(layout.dirs.get('nested/d042'));
      expect(d042[0]!.path).toBe('nested/d042/file-062000.dat');

      expect(catalog.find('file-099999.dat').map((h) => h.path)).toEqual(['nested/d079/file-099999.dat']);
      expect(catalog.find('nested/d07?/*-0999[0-9]?.dat').map((h) => h.path)).toHaveLength(100);

      // many matching names: the search walks down the newest snapshots (only nested/d07?/ here)
      expect(catalog.find('nested/d07?/*.dat', { limit: 2 }).map((h) => h.path)).toEqual(['nested/d070/file-090000.dat', 'nested/d070/file-090001.dat']);
      expect(catalog.find('*.dat', { limit: 2 }).map((h) => h.path)).toEqual(['flat/file-000000.dat', 'flat/file-000001.dat']);

      let walked = 0;
      for (const _ of catalog.walk(snapshot.id)) walked++;
      expect(walked).toBe(100_082);
    } finally {
      catalog.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
