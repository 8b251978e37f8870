import { BackupContext, EntryMetadata, JsonValue, OptionValue } from '@ebm/sdk';
import type { NewEntry } from '../backup/ordered-adder';
import type { WalkedEntry } from '../backup/walk';
import { backupImage, ImageReport } from './backup-image';
import { BlockModeOptions, parseBlockModeOptions } from './block-options';
import { blockSelector, BlockSelector } from './block-select';
import { ByteRange, nativeExtentsUnavailable } from './extents';
import { unchangedSinceParent } from './previous-blocks';

/**
 * Block mode within one backup job: decides which files are block images,
 * backs them up, and sums what it did for the snapshot's meta ("blockMode").
 */
export class BlockModeJob {
  readonly #selector: BlockSelector;
  readonly #reports: ImageReport[] = [];
  #reused = 0;

  private constructor(
    private readonly ctx: BackupContext,
    readonly options: BlockModeOptions,
  ) {
    this.#selector = blockSelector(options);
  }

  /** Undefined when the options do not turn block mode on. */
  static fromOptions(ctx: BackupContext, raw: Readonly<Record<string, OptionValue>>): BlockModeJob | undefined {
    const options = parseBlockModeOptions(raw);
    if (options === undefined) return undefined;
    const missing = options.extents === 'auto' ? nativeExtentsUnavailable() : undefined;
    if (missing !== undefined) ctx.log.info(`block mode reads every block (holes are detected, not skipped): ${missing}`);
    return new BlockModeJob(ctx, options);
  }

  /** True when the walked file is backed up as a block image (empty files never are). */
  selects(item: WalkedEntry): boolean {
    return item.stats.size > 0n && this.#selector.selects(item.relPath, item.stats);
  }

  /**
   * The block-image entry of a selected file. An image whose size, mtime,
   * ctime and inode equal the parent's is reused whole without being opened.
   * Errors opening or reading the file propagate (the caller turns the usual
   * ones into warnings, as for ordinary files). `changedRanges` is the hook
   * for a trusted change journal (see ImageRequest.changedRanges).
   */
  async entry(item: WalkedEntry, meta: EntryMetadata, changedRanges?: readonly ByteRange[]): Promise<NewEntry> {
    const previous = this.ctx.previous !== undefined ? await this.ctx.previous.lookup(item.relPath) : undefined;
    if (previous !== undefined && unchangedSinceParent(previous, item.stats, this.options.blockSize)) {
      this.#reused++;
      return { ...meta, kind: 'block-image', size: previous.size, content: previous.content, meta: previous.meta };
    }
    const { fields, report } = await backupImage(this.ctx, { relPath: item.relPath, absPath: item.absPath, stats: item.stats, previous, changedRanges }, this.options);
    this.#reports.push(report);
    const c = report.counters;
    this.ctx.log.info(`${item.relPath}: block image via ${report.source} file, extents by ${report.extents}`, {
      path: item.relPath, blocks: report.blocks, holesUnread: report.holesUnread, blocksStored: c.blocksStored, blocksReused: c.blocksReused,
      bytesRead: c.bytesRead, attempts: report.attempts, consistent: report.consistent,
    });
    if (!report.consistent) {
      this.ctx.warn({
        path: item.relPath,
        code: 'E_SOURCE_CHANGED',
        message: `${item.relPath}: kept changing during ${report.attempts} reads; stored as an INCONSISTENT block image (it may be torn; it is read again next time). Back it up from a snapshot or a reflink-capable filesystem, or pause its writer`,
      });
    }
    return { ...meta, ...fields };
  }

  /** The snapshot meta's "blockMode" summary. */
  summary(): { readonly [key: string]: JsonValue } {
    const sum = (pick: (r: ImageReport) => number): number => this.#reports.reduce((s, r) => s + pick(r), 0);
    const kinds = <T extends string>(pick: (r: ImageReport) => T): T[] => [...new Set(this.#reports.map(pick))].sort();
    return {
      blockSize: this.options.blockSize,
      filesRead: this.#reports.length,
      filesReused: this.#reused,
      inconsistent: this.#reports.filter((r) => !r.consistent).map((r) => r.relPath),
      attempts: sum((r) => r.attempts),
      bytesRead: sum((r) => r.counters.bytesRead),
      recheckBytes: sum((r) => r.recheckBytes),
      blocks: sum((r) => r.blocks),
      blocksRead: sum((r) => r.counters.blocksRead),
      holesUnread: sum((r) => r.holesUnread),
      zeroBlocks: sum((r) => r.counters.zeroBlocks),
      blocksStored: sum((r) => r.counters.blocksStored),
      blocksReused: sum((r) => r.counters.blocksReused),
      blocksTrusted: sum((r) => r.counters.blocksTrusted),
      extents: kinds((r) => r.extents),
      source: kinds((r) => r.source),
      notes: [...new Set(this.#reports.flatMap((r) => r.notes))].slice(0, 10),
    };
  }
}
