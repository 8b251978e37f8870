#!/usr/bin/env node
/**
 * Catalog benchmark: "browse a 100k-entry snapshot through the catalog".
 * Builds a repository with a synthetic 100k-file snapshot (tree blobs written
 * directly), indexes it, then times listing its directories, walking it,
 * finding in it, and reopening the catalog (with its quick_check) — and the
 * same listing through the repository for comparison. Prints a table;
 * asserts nothing. Needs a build (`npx tsc -b`).
 *
 *   node bench/catalog-bench.js [--files N] [--snapshots K] [--keep]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const dist = path.resolve(__dirname, '../core/dist');
const { Catalog } = require(`${dist}/catalog/catalog`);
const { syncCatalog } = require(`${dist}/catalog/indexer`);
const { largeSnapshot, localRepository, tempDir } = require(`${dist}/catalog/catalog.test-support`);
const { BlobStore } = require(`${dist}/repository/blob-store`);
const { resolvePath, walkTree } = require(`${dist}/browse/tree-walker`);

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const FILES = arg('--files', 100_000);
const SNAPSHOTS = arg('--snapshots', 1);

const rows = [];
async function time(label, fn) {
  const started = performance.now();
  const result = await fn();
  const ms = performance.now() - started;
  rows.push([label, ms]);
  return result;
}

(async () => {
  const dir = tempDir('ebm-catalog-bench-');
  const file = path.join(dir, 'catalog.sqlite');
  try {
    const repo = await localRepository(dir);
    const { snapshot } = await time(`generate a ${FILES}-file snapshot (tree blobs)`, () => largeSnapshot(repo, { files: FILES, flat: Math.floor(FILES / 5), perDir: 1000 }));
    for (let i = 1; i < SNAPSHOTS; i++) {
      // the same tree again: a snapshot the catalog stores as one row
      await largeSnapshot(repo, { files: FILES, flat: Math.floor(FILES / 5), perDir: 1000, time: new Date(Date.now() + i).toISOString() });
    }
    let catalog = Catalog.open(file);
    await time(`index ${SNAPSHOTS} snapshot(s) (syncCatalog)`, () => syncCatalog(catalog, repo));
    await time('sync again, nothing to do', () => syncCatalog(catalog, repo));
    catalog.close();
    catalog = await time('reopen the catalog (PRAGMA quick_check)', () => Catalog.open(file));

    const flat = await time('catalog: ls flat/ (a directory of 20% of the files)', () => catalog.listDirectory(snapshot.id, 'flat'));
    await time('catalog: ls nested/d042 (1000 entries)', () => catalog.listDirectory(snapshot.id, 'nested/d042'));
    await time('catalog: ls / (root)', () => catalog.listDirectory(snapshot.id, ''));
    const walked = await time(`catalog: ls -R (all ${FILES} entries)`, () => [...catalog.walk(snapshot.id)].length);
    await time('catalog: find one name (file-0424242.dat style)', () => catalog.find(`file-${String(Math.floor(FILES * 0.42)).padStart(6, '0')}.dat`));
    await time('catalog: find *.dat --limit 100', () => catalog.find('*.dat', { limit: 100 }));
    await time('catalog: find nested/d04?/*7.dat', () => catalog.find('nested/d04?/*7.dat', { limit: 100_000 }));

    const store = await time('repository: open the blob store (load index)', () => BlobStore.open(repo));
    await time('repository: ls flat/', async () => {
      const found = await resolvePath(store, snapshot.tree, 'flat');
      let n = 0;
      for await (const _ of walkTree(store, found.tree, 'flat', false)) n++;
      return n;
    });
    await time(`repository: ls -R (all ${FILES} entries)`, async () => {
      let n = 0;
      for await (const _ of walkTree(store, snapshot.tree, '', true)) n++;
      return n;
    });
    const status = catalog.status();
    catalog.close();

    const width = Math.max(...rows.map(([l]) => l.length));
    console.log(`catalog benchmark: ${FILES} files, ${SNAPSHOTS} snapshot(s); listed ${flat.length} + walked ${walked} entries`);
    for (const [label, ms] of rows) console.log(`${label.padEnd(width)}  ${ms.toFixed(1).padStart(9)} ms`);
    console.log(`catalog file: ${(status.sizeBytes / 1048576).toFixed(1)} MiB, ${status.entries} entry rows, ${status.names} names, ${status.trees} trees`);
  } finally {
    if (!process.argv.includes('--keep')) fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
