import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildExcludeMatcher } from './exclude-matcher';
import { startTotalsCount, Totals } from './progress-totals';
import { decodeTree } from '@ebm/sdk';
import { parentTotals } from './backup';
import { backupOk, testRepository } from '../testing/harness';

describe('progress totals (for the ETA)', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ebm-totals-'));
    fs.mkdirSync(path.join(root, 'a', 'b'), { recursive: true });
    fs.mkdirSync(path.join(root, 'skip'));
    fs.writeFileSync(path.join(root, 'a', 'one.txt'), 'x'.repeat(1000));
    fs.writeFileSync(path.join(root, 'a', 'b', 'two.bin'), Buffer.alloc(5000));
    fs.writeFileSync(path.join(root, 'skip', 'big.bin'), Buffer.alloc(100000));
    fs.writeFileSync(path.join(root, 'c.tmp'), 'excluded');
    fs.symlinkSync('a/one.txt', path.join(root, 'link'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('counts the non-directory entries and file bytes the backup will visit, honouring excludes', async () => {
    const exclude = await buildExcludeMatcher(['skip/', '*.tmp'], []);
    const totals = await new Promise<Totals>((resolve) => {
      startTotalsCount(root, { exclude, signal: new AbortController().signal }, resolve, 0);
    });
    expect(totals).toEqual({ totalFiles: 3, totalBytes: 6000 });
  });

  it('reports nothing when stopped before it starts, or when the job is cancelled', async () => {
    const exclude = await buildExcludeMatcher([], []);
    const seen: Totals[] = [];
    const counter = startTotalsCount(root, { exclude, signal: new AbortController().signal }, (t) => seen.push(t), 20);
    counter.stop();
    const job = new AbortController();
    startTotalsCount(root, { exclude, signal: job.signal }, (t) => seen.push(t), 20);
    job.abort();
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
  });

  it("an incremental takes its totals from the parent's directory tallies: the same numbers as a counting walk of the unchanged tree", async () => {
    const repo = testRepository();
    const first = await backupOk(repo, { source: root });
    const exclude = await buildExcludeMatcher([], []);
    const walked = await new Promise<Totals>((resolve) => startTotalsCount(root, { exclude, signal: new AbortController().signal }, resolve, 0));
    // The parent as a translator sees it: its root listing (with tallies) through the real SDK runtime.
    const seen: Array<Totals | undefined> = [];
    const probe = {
      id: 'p',
      lookup: async () => undefined,
      list: async (p: string) => (p === '' ? decodeTree(repo.get(first.tree)!, 'root').entries : undefined),
    };
    seen.push(await parentTotals(probe));
    expect(seen[0]).toEqual(walked);
    // A parent without tallies (older trees) or without list(): no estimate, so the counting walk runs.
    expect(await parentTotals({ ...probe, list: async () => [{ name: 'd', kind: 'dir' }] })).toBeUndefined();
    expect(await parentTotals({ id: 'p', lookup: async () => undefined })).toBeUndefined();
    expect(await parentTotals(undefined)).toBeUndefined();
  });
});
