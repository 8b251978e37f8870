import * as path from 'node:path';
import { encodeTree, JsonValue, TreeEntry } from '@ebm/sdk';
import { createFixtureDatabase, fixtureState, mutateFixtureDatabase } from './testing/fixture';
import { backupOk, removeAll, restoreOk, rootEntries, tempDir, testRepository } from './testing/harness';
import { pageDigests } from './testing/page-digest';

/**
 * Snapshots written by format version 1 (the database entry's content is the
 * database itself; the manifest has one blob count per run) still restore,
 * and still serve as the parent of an incremental: their runs are key images.
 */
describe('format version 1 snapshots', () => {
  let dir: string;
  beforeAll(() => (dir = tempDir('v1')));
  afterAll(() => removeAll(dir));

  it('restore byte for byte and are the parent of a version-2 incremental that stores deltas against their runs', async () => {
    const name = 'old.db';
    const db = createFixtureDatabase(dir, { name, accounts: 400, ledgerRows: 8000 });
    const repo = testRepository();
    // A version-2 baseline holds the runs whole (every delta block is empty): rewrite it as version 1 would have written it.
    const v2 = rootEntries(repo, (await backupOk(repo, { source: db })).tree);
    const dbEntry = v2.get(name)!;
    const meta = dbEntry.meta!;
    const pages = pageDigests(db);
    const runPages = meta.runPages as number;
    const runIds = dbEntry.content!.filter((id) => repo.get(id)!.length !== 8); // drop the 8-byte empty delta blocks
    expect(runIds).toHaveLength(Math.ceil(pages.length / runPages));
    const manifest: Buffer[] = [];
    for (let run = 0; run * runPages < pages.length; run++) {
      const count = Buffer.alloc(4);
      count.writeUInt32LE(1, 0);
      manifest.push(count, ...pages.slice(run * runPages, (run + 1) * runPages).map((hex) => Buffer.from(hex, 'hex')));
    }
    const manifestBytes = Buffer.concat(manifest);
    const { segmentRuns: _segmentRuns, ...v1Meta } = meta as Record<string, JsonValue>;
    const hashesMeta: Record<string, JsonValue> = { ...v2.get(`${name}.ebm-page-hashes`)!.meta, version: 1 };
    delete hashesMeta.segmentRuns;
    const v1Entries: TreeEntry[] = [
      { ...dbEntry, size: pages.length * (meta.pageSize as number), content: runIds, meta: { ...v1Meta, version: 1 } },
      { name: `${name}.ebm-page-hashes`, kind: 'file', mode: 0o100600, size: manifestBytes.length, content: [repo.putBlob(manifestBytes, 'data')], meta: hashesMeta },
    ];
    const v1Tree = repo.putBlob(encodeTree(v1Entries), 'tree');

    await restoreOk(repo, { tree: v1Tree, target: path.join(dir, 'restore-v1') });
    expect(pageDigests(path.join(dir, 'restore-v1', name))).toEqual(pages);

    mutateFixtureDatabase(db, { fraction: 0.01, spread: 'scattered' });
    const incremental = await backupOk(repo, { source: db, parentTree: v1Tree });
    expect(incremental.outcome.events.logs.some((l) => /runs stored whole, [1-9]\d* as deltas/.test(l.message))).toBe(true);
    await restoreOk(repo, { tree: incremental.tree, target: path.join(dir, 'restore-v2') });
    const restored = path.join(dir, 'restore-v2', name);
    expect(pageDigests(restored)).toEqual(pageDigests(db));
    expect(fixtureState(restored)).toMatchObject({ integrity: 'ok', foreignKeyViolations: 0 });
  });
});
