import { BackupContext, BlobId, isEbmError, PreviousSnapshot, TreeEntry } from '@ebm/sdk';
import { blockBodyLength, BLOCK_HEADER_BYTES, decodeBlockBody } from '../delta/delta-block';
import { decodeManifest, PageManifest, pagesInRun, runCount } from './page-manifest';
import { FormatVersion, readDatabaseMeta, readPageHashesMeta } from './entry-meta';

/** A run of the parent snapshot: its page hashes, its key image's blobs and the length of its delta. */
export interface PreviousRun {
  readonly keyIds: readonly BlobId[];
  readonly hashes: Buffer;
  readonly pages: number;
  /** 0: the parent's run is its key image. */
  readonly deltaLength: number;
}

/** A segment of a version-2 parent: its delta block's blobs and how many runs it covered. */
export interface PreviousSegment {
  readonly deltaIds: readonly BlobId[];
  readonly runs: number;
  /** Sum of its runs' delta lengths. */
  readonly deltaBytes: number;
}

/** The parent snapshot's pages of the same database, as the incremental needs them. */
export interface PreviousPages {
  readonly version: FormatVersion;
  readonly pageSize: number;
  readonly runPages: number;
  readonly pageCount: number;
  /** Version 2 only. */
  readonly segmentRuns?: number;
  run(index: number): PreviousRun | undefined;
  /** Version 2 only. */
  segment(index: number): PreviousSegment | undefined;
  /** The key image of parent run `index` (verified plaintext), from the repository. */
  readKey(index: number): Promise<Buffer>;
  /** The parent's delta of run `index` (empty when it has none); reads its segment's block once. */
  readDelta(index: number): Promise<Buffer>;
}

/**
 * Loads the parent's page-hash manifest for database entry `name`. Returns
 * undefined — and the backup reads and stores every run, as a baseline —
 * when there is no parent, the parent has no usable entry (another
 * translator, an unknown format version, an inconsistent manifest), or the
 * host cannot serve the parent's content; the reason is logged. Only
 * cancellation propagates: a damaged parent must not stop a new full backup.
 */
export async function loadPreviousPages(ctx: BackupContext, name: string): Promise<PreviousPages | undefined> {
  const previous = ctx.previous;
  if (previous === undefined) return undefined;
  const skip = (reason: string): undefined => {
    ctx.log.info(`not reusing the parent snapshot's pages of ${name}: ${reason}; every page is stored again`, { parent: previous.id });
    return undefined;
  };
  try {
    const dbEntry = await previous.lookup(name);
    if (dbEntry === undefined) return skip('the parent has no entry of that name');
    const dbMeta = readDatabaseMeta(dbEntry);
    if (typeof dbMeta === 'string') return skip(`its entry cannot be used: ${dbMeta}`);
    const hashesEntry = await previous.lookup(dbMeta.pageHashes);
    if (hashesEntry === undefined) return skip(`the parent has no page-hash entry ${dbMeta.pageHashes}`);
    const hashesMeta = readPageHashesMeta(hashesEntry);
    if (typeof hashesMeta === 'string') return skip(`its page-hash entry cannot be used: ${hashesMeta}`);
    if (
      hashesMeta.database !== name || hashesMeta.version !== dbMeta.version || hashesMeta.pageSize !== dbMeta.pageSize ||
      hashesMeta.pageCount !== dbMeta.pageCount || hashesMeta.runPages !== dbMeta.runPages || hashesMeta.segmentRuns !== dbMeta.segmentRuns
    ) {
      return skip('its page-hash entry does not describe its database entry');
    }
    if (previous.readContent === undefined) return skip("this host's SDK cannot read a parent entry's content");
    const manifest = decodeManifest(await readAll(previous, hashesEntry), dbMeta.version, dbMeta.pageCount, dbMeta.runPages, dbMeta.segmentRuns ?? 1);
    const layout = indexContent(manifest, dbEntry.content ?? [], dbMeta.pageCount, dbMeta.runPages, dbMeta.segmentRuns ?? 1);
    if (typeof layout === 'string') return skip(layout);
    return parentPages(previous, name, dbMeta.version, dbMeta.pageSize, dbMeta.runPages, dbMeta.pageCount, dbMeta.segmentRuns, layout);
  } catch (err) {
    if (isEbmError(err) && err.code === 'E_CANCELLED') throw err;
    return skip(`reading it failed: ${(err as Error).message}`);
  }
}

interface ContentLayout {
  readonly runs: readonly PreviousRun[];
  readonly segments: readonly PreviousSegment[];
}

/** Splits the database entry's content ids by run (and by segment's delta block); a string says why they do not fit. */
function indexContent(manifest: PageManifest, ids: readonly BlobId[], pageCount: number, runPages: number, segmentRuns: number): ContentLayout | string {
  const runs: PreviousRun[] = [];
  const segments: PreviousSegment[] = [];
  let offset = 0;
  const take = (count: number): readonly BlobId[] => {
    const slice = ids.slice(offset, offset + count);
    offset += count;
    return slice;
  };
  const total = runCount(pageCount, runPages);
  for (let i = 0; i < total; i++) {
    const record = manifest.runs[i]!;
    if (manifest.segments !== undefined && i % segmentRuns === 0) {
      const s = i / segmentRuns;
      const inSegment = Math.min(segmentRuns, total - i);
      const deltaBytes = manifest.runs.slice(i, i + inSegment).reduce((sum, r) => sum + r.deltaLength, 0);
      segments.push({ deltaIds: take(manifest.segments[s]!.deltaBlobCount), runs: inSegment, deltaBytes });
    }
    runs.push({ keyIds: take(record.keyBlobCount), hashes: record.hashes, pages: pagesInRun(i, pageCount, runPages), deltaLength: record.deltaLength });
  }
  if (offset !== ids.length) return `its manifest names ${offset} blobs but the database entry has ${ids.length}`;
  return { runs, segments };
}

function parentPages(
  previous: PreviousSnapshot, name: string, version: FormatVersion, pageSize: number, runPages: number, pageCount: number, segmentRuns: number | undefined, layout: ContentLayout,
): PreviousPages {
  let cached: { segment: number; deltas: Promise<Map<number, Buffer>> } | undefined;
  const readSegment = async (s: number): Promise<Map<number, Buffer>> => {
    const segment = layout.segments[s]!;
    const block = await readAll(previous, { name: `${name} (segment ${s} delta block)`, kind: 'file', content: segment.deltaIds });
    const body = block.subarray(BLOCK_HEADER_BYTES);
    if (blockBodyLength(block) !== body.length) throw new Error(`the delta block of segment ${s} has ${body.length} bytes of records, its header says ${blockBodyLength(block)}`);
    return decodeBlockBody(body, s * segmentRuns!, segment.runs);
  };
  return {
    version, pageSize, runPages, pageCount,
    ...(segmentRuns !== undefined ? { segmentRuns } : {}),
    run: (index) => layout.runs[index],
    segment: (index) => layout.segments[index],
    readKey: async (index) => {
      const run = layout.runs[index]!;
      const entry: TreeEntry = { name: `${name} (run ${index} key image)`, kind: 'file', size: run.pages * pageSize, content: run.keyIds };
      return readAll(previous, entry);
    },
    readDelta: async (index) => {
      const run = layout.runs[index]!;
      if (run.deltaLength === 0 || segmentRuns === undefined) return Buffer.alloc(0);
      const s = Math.floor(index / segmentRuns);
      if (cached?.segment !== s) cached = { segment: s, deltas: readSegment(s) };
      const delta = (await cached.deltas).get(index);
      if (delta?.length !== run.deltaLength) throw new Error(`the delta block of segment ${s} holds ${delta?.length ?? 0} bytes for run ${index}, the manifest says ${run.deltaLength}`);
      return delta;
    },
  };
}

/**
 * A parent entry's content, whole. Also reads blobs the manifest names (a
 * run's key image, a segment's delta block) through an entry that lists only
 * those blobs.
 */
async function readAll(previous: PreviousSnapshot, entry: TreeEntry): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of previous.readContent!(entry)) parts.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
