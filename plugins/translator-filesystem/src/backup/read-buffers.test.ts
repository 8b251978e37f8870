import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { backupOk, removeAll, restoreOk, tempDir, testRepository } from '../testing/harness';
import { diffManifests, readManifest } from '../testing/tree-manifest';
import { READ_PIECE_BYTES, SMALL_FILE_BYTES } from './read-file';

/**
 * Reads go into buffers reused from file to file (one scratch for small
 * files, two pieces in turn for large ones) while several files are read at
 * once. Every size class, many files of each, distinct random bytes: a buffer
 * reused too early would store one file's bytes under another's content.
 */
describe('filesystem translator: reused read buffers', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir('ebm-fs-read-buffers-');
  });
  afterAll(() => removeAll(work));

  it('stores each file its own bytes, across small, chunked-small and large files read concurrently', async () => {
    const source = path.join(work, 'source');
    const sizes = [0, 1, 4_000, 16 * 1024 - 1, 16 * 1024 + 1, 300_000, SMALL_FILE_BYTES - 1, SMALL_FILE_BYTES, SMALL_FILE_BYTES + 1, 2 * READ_PIECE_BYTES + 12_345];
    for (let dir = 0; dir < 4; dir++) {
      await fsp.mkdir(path.join(source, `d${dir}`), { recursive: true });
      for (const [i, size] of sizes.entries()) await fsp.writeFile(path.join(source, `d${dir}`, `f${i}-${size}.bin`), randomBytes(size));
    }
    const repo = testRepository();
    const before = await readManifest(source);
    const backup = await backupOk(repo, { source });
    expect(backup.warnings).toEqual([]);
    expect(backup.stats).toMatchObject({ files: 4 * sizes.length, filesRead: 4 * (sizes.length - 1) });
    const target = path.join(work, 'target');
    await restoreOk(repo, { tree: backup.tree, target });
    expect(diffManifests(before, await readManifest(target))).toEqual([]);
  });
});
