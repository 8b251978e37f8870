import { ChildProcess, execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createMemoryRepository, MemoryRepository } from '@ebm/sdk';
import { backupOk, removeAll, restoreOk, tempDir } from '../testing/harness';
import { makeSparseFile, MiB, patternBytes, treeEntries } from '../testing/sparse-image';
import { blockMode, RING, startWriter, untorn } from '../testing/busy-writer';
import { readBlockMap } from './block-map';

describe('block mode: a writer changing the image during the backup', () => {
  let work: string;
  let source: string;
  let image: string;
  let writer: ChildProcess | undefined;
  let repo: MemoryRepository;

  beforeEach(async () => {
    work = await tempDir('block-writer');
    source = path.join(work, 'src');
    await fsp.mkdir(source);
    image = path.join(source, 'busy.img');
    makeSparseFile(image, 48 * MiB, [[0, patternBytes(48 * MiB, 3)]]);
    repo = createMemoryRepository();
  });
  afterEach(async () => {
    writer?.kill('SIGKILL');
    writer = undefined;
    await removeAll(work);
  });

  async function restoredImage(tree: string): Promise<{ bytes: Buffer; warnings: readonly { code: string }[] }> {
    const target = path.join(work, `out-${tree.slice(0, 8)}`);
    const result = await restoreOk(repo, { tree, target });
    return { bytes: readFileSync(path.join(target, 'busy.img')), warnings: result.warnings };
  }

  it('never stores a torn image as consistent: a writer that never stops makes it an inconsistent record with a warning', async () => {
    writer = await startWriter(image);
    const result = await backupOk(repo, { source, options: { 'block-mode': '*.img', 'block-mode-retries': 2 } });
    expect(blockMode(result.meta)).toMatchObject({ inconsistent: ['busy.img'], attempts: 3, source: ['live'] });
    expect(result.warnings).toEqual([expect.objectContaining({ path: 'busy.img', code: 'E_SOURCE_CHANGED', message: expect.stringContaining('INCONSISTENT') })]);
    const entry = treeEntries(repo, result.tree).find((e) => e.name === 'busy.img')!;
    const map = readBlockMap(entry);
    expect(typeof map !== 'string' && map.consistent).toBe(false);
    // The restore says so too.
    const restored = await restoredImage(result.tree);
    expect(restored.warnings).toEqual([expect.objectContaining({ path: 'busy.img', code: 'E_SOURCE_CHANGED' })]);
    // It really is torn: the check the next test relies on would catch a silent one.
    expect(untorn(restored.bytes)).toBe(false);
  });

  it('re-reads a file that changed during the read, and what it stores as consistent is one instant of the file', async () => {
    writer = await startWriter(image, 400);
    const result = await backupOk(repo, { source, options: { 'block-mode': '*.img', 'block-mode-retries': 10 } });
    const summary = blockMode(result.meta);
    expect(summary).toMatchObject({ inconsistent: [] });
    expect(summary['attempts']).toBeGreaterThanOrEqual(2); // the writer was running when the first read began
    expect(result.warnings).toEqual([]);
    const restored = await restoredImage(result.tree);
    expect(restored.warnings).toEqual([]);
    expect(untorn(restored.bytes)).toBe(true);
    // Everything outside the writer's pages is the original data.
    const original = patternBytes(48 * MiB, 3);
    for (let slot = 0; slot < RING; slot++) original.fill(0, slot * MiB, slot * MiB + 4096);
    const masked = Buffer.from(restored.bytes);
    for (let slot = 0; slot < RING; slot++) masked.fill(0, slot * MiB, slot * MiB + 4096);
    expect(masked.equals(original)).toBe(true);
  });

  it('leaves nothing behind when the filesystem cannot make a reflink copy, and says why', async () => {
    const result = await backupOk(repo, { source, options: { 'block-mode': '*.img' } });
    const summary = blockMode(result.meta);
    const entries = await fsp.readdir(source);
    expect(entries).toEqual(['busy.img']);
    // Whether this directory's filesystem makes reflinks is probed with cp; the ext4 or tmpfs of a test
    // machine does not, and then the backup must say why (src/block/reflink.test.ts covers a filesystem that does).
    let reflinks = true;
    try {
      execFileSync('cp', ['--reflink=always', image, path.join(work, 'probe.img')], { stdio: 'ignore' });
    } catch {
      reflinks = false;
    }
    if (!reflinks) expect(summary).toMatchObject({ source: ['live'], notes: expect.arrayContaining([expect.stringMatching(/^no reflink copy \(/)]) });
    else expect(summary['source']).toEqual(['reflink']);
    const off = await backupOk(repo, { source, options: { 'block-mode': '*.img', 'block-mode-reflink': false }, parentTree: result.tree });
    expect(blockMode(off.meta)).toMatchObject({ filesReused: 1 });
  });
});
