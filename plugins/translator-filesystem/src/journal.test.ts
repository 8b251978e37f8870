import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backupOk, removeAll, restoreOk, tempDir, testRepository } from './testing/harness';
import { diffManifests, readManifest } from './testing/tree-manifest';

const fsp = fs.promises;

/**
 * Incrementals with a trusted change journal (ctx.changes): the translator
 * looks only at the journalled paths and their ancestor directories, and
 * keeps every other parent entry as it is. Real files; the journal's path
 * list is given directly (the host's inotify journal is tested in
 * test/src/e2e/change-journal.test.ts).
 */
describe('incremental backup with a change journal', () => {
  let work: string;
  let source: string;
  beforeEach(async () => {
    work = await tempDir('journal');
    source = path.join(work, 'src');
    for (let d = 0; d < 12; d++) {
      for (let s = 0; s < 3; s++) {
        const dir = path.join(source, `d${d}`, `s${s}`);
        await fsp.mkdir(dir, { recursive: true });
        for (let f = 0; f < 8; f++) await fsp.writeFile(path.join(dir, `f${f}.txt`), `file ${d}/${s}/${f} ${randomBytes(200).toString('hex')}`);
      }
    }
  });
  afterEach(() => removeAll(work));

  it('stats only the journalled paths and their ancestors, and gives the same snapshot as a full scan', async () => {
    const repo = testRepository();
    const first = await backupOk(repo, { source });
    expect(first.meta).toMatchObject({ scan: { mode: 'full' } });

    // The changes an operator's applications make between two backups:
    await fsp.appendFile(path.join(source, 'd1/s0/f3.txt'), ' appended');               // a file modified
    await fsp.writeFile(path.join(source, 'd2/s1/new.txt'), 'a new file');               // a file created
    await fsp.rm(path.join(source, 'd3/s2/f0.txt'));                                     // a file deleted
    await fsp.rm(path.join(source, 'd4/s0'), { recursive: true });                       // a directory deleted
    await fsp.mkdir(path.join(work, 'elsewhere/deep'), { recursive: true });
    await fsp.writeFile(path.join(work, 'elsewhere/deep/x.txt'), 'moved in with its directory');
    await fsp.rename(path.join(work, 'elsewhere'), path.join(source, 'd5/moved'));       // a directory moved in (only its own path is journalled)
    await fsp.chmod(path.join(source, 'd6/s1'), 0o700);                                  // directory metadata
    const journalled = ['d1/s0/f3.txt', 'd2/s1/new.txt', 'd3/s2/f0.txt', 'd4/s0', 'd5/moved', 'd6/s1'];

    const withJournal = await backupOk(repo, { source, parentTree: first.tree, changedPaths: journalled });
    const scan = withJournal.meta?.scan as { mode: string; journalled: number; statted: number; reused: number };
    expect(scan.mode).toBe('journal');
    expect(scan.journalled).toBe(6);
    // lstat: 6 journalled paths (2 gone) + their ancestors d1, d1/s0, d2, d2/s1, d3, d3/s2, d4, d5, d6
    // + what is below the two journalled directories: d5/moved/{deep, deep/x.txt} and the 8 files of d6/s1.
    expect(scan.statted).toBe(6 + 9 + 2 + 8);
    expect(withJournal.stats.filesRead).toBe(3); // f3.txt, new.txt, x.txt: nothing else was opened
    // Untouched directories (d0, d7…d11, and the untouched s* of the touched ones) were kept whole: their trees were not even read.
    const scanned = withJournal.meta?.scan as { subtreesReused: number };
    expect(scanned.subtreesReused).toBe(6 + 2 + 2 + 2 + 2 + 3 + 2); // d0, d7…d11; then per touched dN its untouched sK (d5 keeps all three)

    // The journal-based snapshot is the snapshot a full scan makes of the same state.
    const fullScan = await backupOk(repo, { source, parentTree: first.tree });
    expect(fullScan.meta).toMatchObject({ scan: { mode: 'full' } });
    expect(withJournal.tree).toBe(fullScan.tree);
    expect(withJournal.stats).toMatchObject({ files: fullScan.stats.files, dirs: fullScan.stats.dirs, bytesTotal: fullScan.stats.bytesTotal });

    const target = path.join(work, 'restored');
    await restoreOk(repo, { tree: withJournal.tree, target });
    expect(diffManifests(await readManifest(source), await readManifest(target))).toEqual([]);
  });

  it('does not look at what the journal leaves out (which is why the host passes only a gap-free journal)', async () => {
    const repo = testRepository();
    const first = await backupOk(repo, { source });
    await fsp.appendFile(path.join(source, 'd7/s0/f1.txt'), ' journalled');
    await fsp.appendFile(path.join(source, 'd8/s0/f1.txt'), ' missed by the journal');
    const second = await backupOk(repo, { source, parentTree: first.tree, changedPaths: ['d7/s0/f1.txt'] });
    expect(second.stats.filesRead).toBe(1);
    const target = path.join(work, 'restored');
    await restoreOk(repo, { tree: second.tree, target, includes: ['d7/s0/f1.txt', 'd8/s0/f1.txt'] });
    expect(fs.readFileSync(path.join(target, 'd7/s0/f1.txt'), 'utf8')).toMatch(/ journalled$/);
    expect(fs.readFileSync(path.join(target, 'd8/s0/f1.txt'), 'utf8')).not.toMatch(/missed/);
  });

  it('honours excludes for journalled paths', async () => {
    const repo = testRepository();
    const options = { exclude: ['*.tmp'] };
    const first = await backupOk(repo, { source, options });
    await fsp.writeFile(path.join(source, 'd9/s0/scratch.tmp'), 'excluded');
    await fsp.writeFile(path.join(source, 'd9/s0/kept.txt'), 'kept');
    const second = await backupOk(repo, { source, options, parentTree: first.tree, changedPaths: ['d9/s0/scratch.tmp', 'd9/s0/kept.txt'] });
    const full = await backupOk(repo, { source, options, parentTree: first.tree });
    expect(second.tree).toBe(full.tree);
  });
});
