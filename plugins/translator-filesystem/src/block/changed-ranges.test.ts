import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createMemoryRepository, defineTranslator, JsonValue } from '@ebm/sdk';
import { backupOk } from '@ebm/sdk/testing';
import { restoreFilesystem } from '../restore/restore';
import { removeAll, restoreOk, tempDir } from '../testing/harness';
import { makeSparseFile, MiB, patternBytes, writeAt } from '../testing/sparse-image';
import { backupImage } from './backup-image';
import { parseBlockModeOptions } from './block-options';
import { ByteRange } from './extents';

/**
 * The hook for a trusted change journal / dirty-block source: given the byte
 * ranges that changed since the parent, backupImage reads only the blocks
 * they touch and takes every other block from the parent's map unread. A
 * tiny translator stands in for the journal-aware backup walk.
 */
function journaledTranslator(file: string, changedRanges: readonly ByteRange[] | undefined) {
  const options = parseBlockModeOptions({ 'block-mode': '*.img' })!;
  return defineTranslator({
    async backup(ctx) {
      const stats = await fsp.lstat(file, { bigint: true });
      const previous = await ctx.previous?.lookup('disk.img');
      const { fields, report } = await backupImage(ctx, { relPath: 'disk.img', absPath: file, stats, previous, changedRanges }, options);
      await ctx.tree.add('disk.img', { mode: Number(stats.mode), ...fields });
      return { meta: { counters: { ...report.counters } as { [key: string]: JsonValue } } };
    },
    restore: restoreFilesystem,
  });
}

describe('block mode: a trusted list of changed ranges', () => {
  let work: string;
  beforeEach(async () => {
    work = await tempDir('block-journal');
  });
  afterEach(() => removeAll(work));

  it('reads only the blocks the ranges touch; every other block comes from the parent unread', async () => {
    const file = path.join(work, 'disk.img');
    makeSparseFile(file, 64 * MiB, [[0, patternBytes(32 * MiB, 1)], [48 * MiB, patternBytes(8 * MiB, 2)]]);
    const repo = createMemoryRepository();
    const first = await backupOk(repo, journaledTranslator(file, undefined), { source: file });
    expect(first.meta?.['counters']).toMatchObject({ blocksRead: 40, blocksStored: 40 });

    const before = readFileSync(file);
    // The journal reports two writes (one inside block 5, one filling hole block 40)…
    writeAt(file, [[5 * MiB + 100, patternBytes(300, 3)], [40 * MiB, patternBytes(MiB, 4)]]);
    const reported = readFileSync(file);
    // …but not a third one: trusting the journal means block 20 is not read, so it keeps its old content.
    writeAt(file, [[20 * MiB, patternBytes(4096, 5)]]);
    const second = await backupOk(repo, journaledTranslator(file, [[5 * MiB + 100, 5 * MiB + 400], [40 * MiB, 41 * MiB]]), { source: file, parentTree: first.tree });
    expect(second.meta?.['counters']).toMatchObject({ blocksRead: 2, blocksStored: 2, bytesRead: 2 * MiB, blocksTrusted: 39 });
    expect(second.outcome.stats.putBytes).toBeLessThan(2 * MiB + 64 * 1024);

    const target = path.join(work, 'out');
    await restoreOk(repo, { tree: second.tree, target });
    const restored = readFileSync(path.join(target, 'disk.img'));
    expect(restored.equals(reported)).toBe(true);
    expect(restored.equals(before)).toBe(false);
  });
});
