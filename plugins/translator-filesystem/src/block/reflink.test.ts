import { ChildProcess, execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createMemoryRepository, MemoryRepository } from '@ebm/sdk';
import { backupOk, removeAll, restoreOk, tempDir } from '../testing/harness';
import { makeSparseFile, MiB, patternBytes } from '../testing/sparse-image';
import { blockMode, startWriter, untorn } from '../testing/busy-writer';

/**
 * Block mode on a filesystem that makes reflinks: a real XFS (reflink=1) in a
 * loop-mounted image file (mkfs.xfs from Debian's xfsprogs, installed by
 * .ci/run; the tests run as root). The backup reads a FICLONE copy — a
 * point-in-time image — so a writer that never stops cannot tear it, the
 * first read is consistent, and the copy is gone afterwards.
 */
describe('block mode on a reflink-capable filesystem (XFS)', () => {
  let work: string;
  let mountPoint: string;
  let source: string;
  let image: string;
  let writer: ChildProcess | undefined;
  let repo: MemoryRepository;
  let mounted = false;

  beforeAll(async () => {
    work = await tempDir('block-xfs');
    const fsImage = path.join(work, 'xfs.img');
    mountPoint = path.join(work, 'mnt');
    await fsp.mkdir(mountPoint);
    execFileSync('truncate', ['-s', '320M', fsImage]);
    try {
      execFileSync('mkfs.xfs', ['-q', '-m', 'reflink=1', fsImage]);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new Error('this test needs mkfs.xfs: install xfsprogs (apt-get install -y xfsprogs; .ci/run does)');
    }
    execFileSync('mount', ['-o', 'loop', fsImage, mountPoint]);
    mounted = true;
    source = path.join(mountPoint, 'vm');
    await fsp.mkdir(source);
    image = path.join(source, 'busy.img');
    makeSparseFile(image, 64 * MiB, [[0, patternBytes(48 * MiB, 5)]]);
    repo = createMemoryRepository();
  });
  afterAll(async () => {
    writer?.kill('SIGKILL');
    try {
      // Only what beforeAll mounted: an umount error here would hide why beforeAll failed.
      if (mounted) execFileSync('umount', [mountPoint]);
    } finally {
      await removeAll(work);
    }
  });

  it('reads a reflink copy: a writer that never stops still gives an untorn image on the first read, and no copy is left', async () => {
    writer = await startWriter(image);
    const result = await backupOk(repo, { source, options: { 'block-mode': '*.img', 'block-mode-retries': 0 } });
    expect(blockMode(result.meta)).toMatchObject({ source: ['reflink'], attempts: 1, inconsistent: [] });
    expect(result.warnings).toEqual([]);
    writer.kill('SIGKILL');
    writer = undefined;
    expect(await fsp.readdir(source)).toEqual(['busy.img']);

    const target = path.join(work, 'restored');
    const restored = await restoreOk(repo, { tree: result.tree, target });
    expect(restored.warnings).toEqual([]);
    const bytes = readFileSync(path.join(target, 'busy.img'));
    expect(bytes.length).toBe(64 * MiB);
    expect(untorn(bytes)).toBe(true);
  });
});
