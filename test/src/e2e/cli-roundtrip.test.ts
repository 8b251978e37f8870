import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareTrees } from '@ebm/core';
import { ebm, ebmOk, summaryOf, tempDir } from '../helpers/cli';
import { makeEveryKindTree } from '../helpers/every-kind-tree';

/**
 * The operator's round trip through the real CLI (a separate process, the
 * plugin in a real worker thread, a real repository on disk).
 */
describe('ebm CLI round trip', () => {
  let work: string;
  let repo: string;
  let source: string;

  beforeAll(async () => {
    work = tempDir('cli');
    repo = path.join(work, 'repo');
    source = path.join(work, 'source');
    fs.mkdirSync(source);
    makeEveryKindTree(source);
    await ebmOk(['init', '-r', repo]);
  });

  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('backs up every entry kind and restores bytes and metadata equal to the source', async () => {
    const backup = await ebmOk(['backup', '-r', repo, source, '--dataset', 'kinds', '--tag', 'first', '--json']);
    const summary = summaryOf(backup);
    expect(summary.parent).toBeNull();
    // 8 regular files; the empty one has nothing to read. The hardlink's second
    // path is a 'hardlink' entry (counted with the other non-file kinds), not read again.
    expect(summary.files).toBe(8);
    expect(summary.filesRead).toBe(7);
    expect(summary.others).toBe(6); // hardlink, 3 symlinks, fifo, device
    expect(backup.lines.some((l) => l.type === 'progress')).toBe(true);

    const target = path.join(work, 'restore-all');
    await ebmOk(['restore', '-r', repo, 'latest', '--target', target]);
    expect(await compareTrees(source, target, { owners: true })).toEqual([]);
    // device and fifo kinds really came back as such
    expect(fs.lstatSync(path.join(target, 'fifo')).isFIFO()).toBe(true);
    const dev = fs.lstatSync(path.join(target, 'null-device'));
    expect(dev.isCharacterDevice()).toBe(true);
    expect(dev.rdev).toBe(fs.lstatSync(path.join(source, 'null-device')).rdev);
    // nanosecond mtime survives to the microsecond (Node's utimes precision; see docs/format.md)
    const srcNs = fs.lstatSync(path.join(source, 'a', 'small.txt'), { bigint: true }).mtimeNs;
    const dstNs = fs.lstatSync(path.join(target, 'a', 'small.txt'), { bigint: true }).mtimeNs;
    expect(dstNs / 1000n).toBe(srcNs / 1000n);
  });

  it('lists snapshots and browses them', async () => {
    const snaps = await ebmOk(['snapshots', '-r', repo, '--json']);
    const list = snaps.lines.filter((l) => l.type === 'result').map((l) => l.snapshot as Record<string, unknown>);
    expect(list.length).toBeGreaterThanOrEqual(1);
    expect(list[0]).toMatchObject({ dataset: 'kinds', tags: ['first'], translator: { id: 'filesystem' } });

    const ls = await ebmOk(['ls', '-r', repo, 'latest', 'a', '--json']);
    const paths = ls.lines.map((l) => l.path);
    expect(paths).toEqual(['a/b', 'a/hard-2', 'a/small.txt']);
    const human = await ebmOk(['ls', '-r', repo, 'latest', '-R', '-l']);
    expect(human.stdout).toContain('symlink');
    expect(human.stdout).toMatch(/a\/b\/c\/repeat\.txt/);
  });

  it('a second backup of a barely changed tree reads only the changed file and adds little', async () => {
    fs.appendFileSync(path.join(source, 'a', 'b', 'c', 'repeat.txt'), 'one more line\n');
    const second = summaryOf(await ebmOk(['backup', '-r', repo, source, '--dataset', 'kinds', '--json']));
    expect(second.parent).toEqual(expect.any(String));
    expect(second.filesRead).toBe(1);
    expect(second.filesReused).toBe((second.files as number) - 1);
    expect(second.bytesAdded as number).toBeLessThan(64 * 1024);

    const target = path.join(work, 'restore-second');
    await ebmOk(['restore', '-r', repo, 'latest', '--target', target]);
    expect(await compareTrees(source, target, { owners: true })).toEqual([]);
  });

  it('restores a subset with --include and refuses a non-empty target without --overwrite', async () => {
    const target = path.join(work, 'restore-part');
    await ebmOk(['restore', '-r', repo, 'latest', '--target', target, '--include', 'a/b']);
    expect(fs.readdirSync(target)).toEqual(['a']);
    expect(fs.readdirSync(path.join(target, 'a')).sort()).toEqual(['b']);
    // Buffer.equals, not toEqual: jest's deep equality walks a multi-MiB buffer byte by byte (tens of seconds on a busy machine).
    expect(fs.readFileSync(path.join(target, 'a', 'b', 'random.bin')).equals(fs.readFileSync(path.join(source, 'a', 'b', 'random.bin')))).toBe(true);

    const refused = await ebm(['restore', '-r', repo, 'latest', '--target', target, '--json']);
    expect(refused.code).toBe(1);
    expect(refused.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'E_TARGET_NOT_EMPTY' } });
    await ebmOk(['restore', '-r', repo, 'latest', '--target', target, '--overwrite']);
    expect(await compareTrees(source, target, { owners: true })).toEqual([]);
  });

  it('check --read-data passes on the healthy repository', async () => {
    const check = await ebmOk(['check', '-r', repo, '--read-data', '--json']);
    expect(summaryOf(check)).toMatchObject({ ok: true, errors: [] });
  });

  it('forget by policy then prune keeps the kept snapshot fully restorable', async () => {
    await ebmOk(['forget', '-r', repo, '--keep-last', '1', '--prune']);
    const list = (await ebmOk(['snapshots', '-r', repo, '--json'])).lines.filter((l) => l.type === 'result');
    expect(list).toHaveLength(1);
    await ebmOk(['check', '-r', repo, '--read-data']);
    const target = path.join(work, 'restore-after-prune');
    await ebmOk(['restore', '-r', repo, 'latest', '--target', target]);
    expect(await compareTrees(source, target, { owners: true })).toEqual([]);
  });
});
