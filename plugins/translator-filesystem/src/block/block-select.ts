import type { BigIntStats } from 'node:fs';
import ignore from 'ignore';
import { BlockModeOptions } from './block-options';

/** Decides which regular files are backed up as block images (see BlockModeOptions for the rule). */
export interface BlockSelector {
  selects(relPath: string, stats: BigIntStats): boolean;
}

export function blockSelector(options: BlockModeOptions): BlockSelector {
  const patterns = options.patterns.length > 0 ? ignore().add([...options.patterns]) : undefined;
  return {
    selects(relPath, stats) {
      // A hardlinked file stays an ordinary file: its other links would need the block map too.
      if (!stats.isFile() || stats.nlink > 1n) return false;
      if (options.minSize !== undefined && stats.size < BigInt(options.minSize)) return false;
      return patterns === undefined || patterns.ignores(relPath);
    },
  };
}
