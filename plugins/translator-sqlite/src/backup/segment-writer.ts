import { BackupContext, BlobId, isEbmError } from '@ebm/sdk';
import { BLOCK_HEADER_BYTES, encodeBlock, recordBytes, RunDelta } from '../delta/delta-block';
import { encodeSegment, RunRecord } from '../manifest/page-manifest';
import type { PreviousPages } from '../manifest/previous-pages';

/** How one run is stored, decided by store-pages.ts. */
export interface StoredRun {
  readonly index: number;
  readonly hashes: Buffer;
  /** Blobs of the run's key image (the parent's, or just written). */
  readonly keyIds: readonly BlobId[];
  /**
   * The run's delta against that key: 'parent' when the run is unchanged
   * since the parent (its delta is the parent's, possibly none), otherwise
   * the bytes (empty: the run is its key image).
   */
  readonly delta: Buffer | 'parent';
  /** The run's pages, kept for a 'parent' delta until its segment is written (see SegmentWriter). */
  readonly pages?: readonly Buffer[];
}

/**
 * Assembles the database entry's content (version 2) segment by segment, in
 * run order: each segment's delta block, then its runs' key images; and the
 * page-hash manifest's segment records. A segment whose block would hold
 * exactly the parent's block reuses the parent's blob ids; otherwise the
 * block is encoded (copying the parent's delta of each unchanged run) and
 * written with `writeContent`. When the parent's block cannot be read (a
 * damaged or missing blob; logged), its unchanged runs are stored whole as
 * new key images instead: a damaged parent never fails a backup.
 */
export class SegmentWriter {
  readonly content: BlobId[] = [];
  readonly manifest: Buffer[] = [];
  /** Bytes of the content (delta blocks + key images). */
  size = 0;
  /** Unchanged runs stored whole because the parent's delta block could not be read. */
  wholeAfterDamagedParent = 0;
  readonly #ctx: BackupContext;
  readonly #segmentRuns: number;
  readonly #parent: PreviousPages | undefined;
  #pending: StoredRun[] = [];

  /** `parent`: the parent's pages when they are comparable (same page size and run length), else undefined. */
  constructor(ctx: BackupContext, segmentRuns: number, parent: PreviousPages | undefined) {
    this.#ctx = ctx;
    this.#segmentRuns = segmentRuns;
    this.#parent = parent;
  }

  /** Adds the next run (in run order); writes its segment when the segment is complete. */
  async add(run: StoredRun, runBytes: number, isLast: boolean): Promise<void> {
    this.#pending.push(run);
    this.size += runBytes;
    if (isLast || (run.index + 1) % this.#segmentRuns === 0) await this.#flush();
  }

  async #flush(): Promise<void> {
    let runs = this.#pending;
    this.#pending = [];
    const segment = Math.floor(runs[0]!.index / this.#segmentRuns);
    let lengths = this.#deltaLengths(runs);
    let blockIds = this.#reusableBlock(segment, runs, lengths);
    if (blockIds === undefined) {
      runs = await this.#withParentDeltas(runs);
      lengths = this.#deltaLengths(runs);
      const deltas: RunDelta[] = runs.map((r) => ({ run: r.index, delta: r.delta as Buffer }));
      blockIds = (await this.#ctx.tree.writeContent([encodeBlock(deltas)])).content;
    }
    const blockBytes = BLOCK_HEADER_BYTES + lengths.reduce((sum, n) => sum + recordBytes(n), 0);
    this.content.push(...blockIds);
    for (const r of runs) this.content.push(...r.keyIds);
    this.size += blockBytes;
    const records: RunRecord[] = runs.map((r, i) => ({ keyBlobCount: r.keyIds.length, deltaLength: lengths[i]!, hashes: r.hashes }));
    this.manifest.push(encodeSegment({ deltaBlobCount: blockIds.length }, records));
  }

  #deltaLengths(runs: readonly StoredRun[]): number[] {
    return runs.map((r) => (r.delta === 'parent' ? this.#parent!.run(r.index)!.deltaLength : r.delta.length));
  }

  /** `runs` with every 'parent' delta replaced by its bytes, or by a new key image when the parent's block cannot be read. */
  async #withParentDeltas(runs: readonly StoredRun[]): Promise<StoredRun[]> {
    const out: StoredRun[] = [];
    for (const r of runs) {
      if (r.delta !== 'parent') {
        out.push(r);
        continue;
      }
      try {
        out.push({ ...r, delta: await this.#parent!.readDelta(r.index) });
      } catch (err) {
        if (isEbmError(err) && err.code === 'E_CANCELLED') throw err;
        this.#ctx.log.warn(`could not read the parent's delta of run ${r.index} (${(err as Error).message}); the run is stored whole`);
        this.wholeAfterDamagedParent++;
        const stored = await this.#ctx.tree.writeContent(r.pages ?? []);
        out.push({ index: r.index, hashes: r.hashes, keyIds: stored.content, delta: Buffer.alloc(0) });
      }
    }
    return out;
  }

  /**
   * The parent's block ids when this segment's block has exactly the
   * parent's bytes: every run's delta is the parent's (or none in both), and
   * the parent's segment held no delta of a run this one lacks.
   */
  #reusableBlock(segment: number, runs: readonly StoredRun[], lengths: readonly number[]): readonly BlobId[] | undefined {
    const parent = this.#parent;
    if (parent?.version !== 2 || parent.segmentRuns !== this.#segmentRuns) return undefined;
    const old = parent.segment(segment);
    if (old === undefined) return undefined;
    const same = runs.every((r) => r.delta === 'parent' || (r.delta.length === 0 && (parent.run(r.index)?.deltaLength ?? 0) === 0));
    const total = lengths.reduce((sum, n) => sum + n, 0);
    return same && total === old.deltaBytes ? old.deltaIds : undefined;
  }
}
