import type { BigIntStats } from 'node:fs';
import { StoredContent, TreeEntry } from '@ebm/sdk';

/**
 * The incremental rule (as restic's): a file is unchanged when the parent
 * snapshot has a file (or hardlink) at the same path with the same size,
 * mtime, ctime and inode. ctime is included because user space cannot set it
 * back, so `touch -d` or a same-size rewrite within one mtime tick is caught.
 * Returns the content to reuse, or undefined when the file must be read.
 */
export function reusableContent(previous: TreeEntry | undefined, stats: BigIntStats): StoredContent | undefined {
  if (previous === undefined) return undefined;
  if (previous.kind !== 'file' && previous.kind !== 'hardlink') return undefined;
  if (previous.size === undefined || previous.content === undefined) return undefined;
  if (BigInt(previous.size) !== stats.size) return undefined;
  if (previous.mtimeNs !== stats.mtimeNs.toString()) return undefined;
  if (previous.ctimeNs !== stats.ctimeNs.toString()) return undefined;
  if (previous.inode !== stats.ino.toString()) return undefined;
  return { size: previous.size, content: previous.content };
}
