import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeTree, TreeEntry } from '@ebm/sdk';
import type { MemoryRepository } from '@ebm/sdk';
import { createFixtureDatabase, fixtureState, mutateFixtureDatabase } from './testing/fixture';
import { backupOk, BackupOk, failure, removeAll, restoreOk, rootEntries, tempDir, testRepository } from './testing/harness';
import { execSql, pageDigests } from './testing/page-digest';
import translator from './index';

/**
 * Format version 2: a changed run is stored as a delta against its key image
 * (a full image of the run from an earlier backup); every snapshot restores
 * from its own entry — key image + delta, never a chain — byte for byte.
 */
describe('page deltas against key images', () => {
  let dir: string;
  beforeAll(() => (dir = tempDir('delta')));
  afterAll(() => removeAll(dir));

  async function expectRestores(repo: MemoryRepository, tree: string, name: string, expectedPages: readonly string[], label: string): Promise<void> {
    const target = path.join(dir, `restore-${label}`);
    await restoreOk(repo, { tree, target });
    const file = path.join(target, name);
    expect(pageDigests(file)).toEqual(expectedPages);
    expect(fixtureState(file)).toMatchObject({ integrity: 'ok', foreignKeyViolations: 0 });
  }

  it('after ~1% of rows change, stores a small fraction of what storing changed runs whole stores', async () => {
    const results: Record<string, number> = {};
    for (const pageDelta of ['off', 'patch', 'deflate'] as const) {
      const db = createFixtureDatabase(dir, { name: `fraction-${pageDelta}.db`, accounts: 1000, ledgerRows: 20000 });
      const repo = testRepository();
      const options = { 'page-delta': pageDelta };
      const baseline = await backupOk(repo, { source: db, options });
      mutateFixtureDatabase(db, { fraction: 0.01, spread: 'scattered' });
      const incremental = await backupOk(repo, { source: db, parentTree: baseline.tree, options });
      results[pageDelta] = incremental.outcome.stats.putBytes;
      await expectRestores(repo, incremental.tree, `fraction-${pageDelta}.db`, pageDigests(db), `fraction-${pageDelta}`);
    }
    // Measured on this fixture: patch ≈ 13 % of off (320 of 2400 kB put); deflate keeps, page by page, the smaller of the two.
    expect(results.patch!).toBeLessThan(results.off! * 0.3);
    expect(results.deflate!).toBeLessThanOrEqual(results.patch!);
  });

  it.each(['patch', 'deflate'] as const)('every snapshot of a chain with VACUUM, growth, shrinking and a page-size change restores on its own (%s)', async (pageDelta) => {
    const name = `chain-${pageDelta}.db`;
    const db = createFixtureDatabase(dir, { name, journalMode: 'wal', accounts: 400, ledgerRows: 8000 });
    const repo = testRepository();
    const options = { 'page-delta': pageDelta, 'run-size': 16384 }; // 4 pages a run: many runs and segments
    const steps: [string, (file: string) => void][] = [
      ['baseline', () => undefined],
      ['rows', (file) => void mutateFixtureDatabase(file, { round: 1, fraction: 0.02, spread: 'scattered' })],
      ['rows again', (file) => void mutateFixtureDatabase(file, { round: 2, fraction: 0.02, spread: 'scattered' })],
      ['grow', (file) => execSql(file, "INSERT INTO ledger(account_id, amount, memo) SELECT account_id, amount, memo || ' copy' FROM ledger WHERE id % 2 = 0")],
      ['shrink', (file) => execSql(file, 'DELETE FROM ledger WHERE id % 5 = 0; VACUUM')],
      ['rows after vacuum', (file) => void mutateFixtureDatabase(file, { round: 3, fraction: 0.01 })],
      ['page size', (file) => execSql(file, 'PRAGMA journal_mode = DELETE; PRAGMA page_size = 8192; VACUUM; PRAGMA journal_mode = WAL;')],
      ['rows at 8 KiB', (file) => void mutateFixtureDatabase(file, { round: 4, fraction: 0.01 })],
    ];
    const snapshots: { label: string; tree: string; pages: string[] }[] = [];
    let parentTree: string | undefined;
    let deltas = 0;
    for (const [label, change] of steps) {
      change(db);
      const backup: BackupOk = await backupOk(repo, { source: db, options, ...(parentTree ? { parentTree } : {}) });
      const log = backup.outcome.events.logs.find((l) => /runs stored whole/.test(l.message))!.message;
      deltas += Number(/(\d+) as deltas/.exec(log)![1]);
      snapshots.push({ label, tree: backup.tree, pages: pageDigests(db) });
      parentTree = backup.tree;
    }
    expect(deltas).toBeGreaterThan(0);
    expect(rootEntries(repo, snapshots.at(-1)!.tree).get(name)!.meta).toMatchObject({ version: 2, pageSize: 8192 });
    // newest first, then the others: no snapshot depends on having restored another
    for (const s of [...snapshots].reverse()) await expectRestores(repo, s.tree, name, s.pages, `chain-${pageDelta}-${s.label.replace(/ /g, '-')}`);
  });

  it('a missing or damaged key image fails the restore with an error naming the run and its pages', async () => {
    const db = createFixtureDatabase(dir, { name: 'damaged.db', accounts: 300, ledgerRows: 6000 });
    const repo = testRepository();
    const options = { 'run-size': 16384 };
    const baseline = await backupOk(repo, { source: db, options });
    mutateFixtureDatabase(db, { fraction: 0.02, spread: 'scattered' });
    const incremental = await backupOk(repo, { source: db, parentTree: baseline.tree, options });
    const entries = rootEntries(repo, incremental.tree);
    const entry = entries.get('damaged.db')!;
    // content = segment 0's delta block (one blob), then run 0's key image (pages 1–4), …
    const withKey = (id: string): string => {
      const content = [...entry.content!];
      content[1] = id;
      const changed: TreeEntry[] = [...entries.values()].map((e) => (e.name === 'damaged.db' ? { ...e, content } : e));
      return repo.putBlob(encodeTree(changed), 'tree');
    };
    const missing = await repo.restore(translator, { tree: withKey('0'.repeat(64)), target: path.join(dir, 'restore-missing') });
    expect(failure(missing)).toMatchObject({ code: 'E_BLOB_NOT_FOUND' });
    expect(failure(missing).message).toMatch(/the key image of run 0 \(pages 1–4\)/);
    const wrong = repo.putBlob(Buffer.alloc(1000, 7), 'data'); // a blob of the wrong length where the key image should be
    const damaged = await repo.restore(translator, { tree: withKey(wrong), target: path.join(dir, 'restore-damaged') });
    expect(failure(damaged)).toMatchObject({ code: 'E_CORRUPT_OBJECT' });
    expect(failure(damaged).message).toMatch(/damaged\.db cannot be restored: .*run \d+ \(pages \d+–\d+\)/);
    for (const target of ['restore-missing', 'restore-damaged']) expect(fs.readdirSync(path.join(dir, target))).toEqual([]);
  });
});
