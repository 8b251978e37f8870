import { BlobId, EbmError, JsonValue, TreeEntry, TreeWriter } from '@ebm/sdk';
import { RECORD_TARGET_BYTES, RECORDS_DIR, RECORDS_PER_GROUP, RecordMeta, SegmentPart, groupPath, recordPath } from '../layout';

interface OpenRecord {
  readonly offset: number;
  readonly ids: BlobId[];
  size: number;
  readonly segment?: Omit<SegmentPart, 'last' | 'sha256'>;
}

/**
 * Writes the stream's records (see layout.ts) in order: pieces go into the
 * current record; a record closes once it reaches RECORD_TARGET_BYTES, or
 * where a segment ends. Only the current record's blob ids are held, and the
 * tree writer holds at most the current group, so memory stays bounded
 * however long the stream is.
 */
export class RecordWriter {
  readonly #tree: TreeWriter;
  readonly #targetBytes: number;
  #next: number;
  #offset: number;
  #current: OpenRecord | undefined;
  #segment: { readonly index: number; readonly header: { readonly [key: string]: JsonValue }; readonly headerBytes: number; part: number } | undefined;
  #openGroup = -1;

  /** `targetBytes`: where a record closes (tests make it small). An append-only incremental first re-adds its parent's records with `reuse`. */
  constructor(tree: TreeWriter, targetBytes = RECORD_TARGET_BYTES) {
    this.#tree = tree;
    this.#targetBytes = targetBytes;
    this.#next = 0;
    this.#offset = 0;
  }

  /** Records written (or reused) so far. */
  get count(): number {
    return this.#next;
  }

  /** Bytes of the stream covered by closed records and the open one. */
  get bytes(): number {
    return this.#offset + (this.#current?.size ?? 0);
  }

  /** Adds the records directory; call once before anything else. */
  async open(): Promise<void> {
    await this.#tree.add(RECORDS_DIR, { kind: 'dir' });
  }

  /** Re-adds a record of the previous snapshot unchanged (nothing is read or shipped). */
  async reuse(entry: TreeEntry): Promise<void> {
    const meta = entry.meta as RecordMeta | undefined;
    if (this.#current !== undefined) throw new Error('RecordWriter.reuse: a record is open');
    if (meta?.offset !== this.#offset || entry.size === undefined || entry.content === undefined) {
      throw new EbmError('E_CORRUPT_OBJECT', `record ${this.#next} of the previous snapshot does not continue the stream at byte ${this.#offset}`, { subject: recordPath(this.#next) });
    }
    await this.#add({ kind: 'stream', size: entry.size, content: entry.content, meta: entry.meta! });
    this.#offset += entry.size;
  }

  /** Starts a segment: the next pieces (its header line first) belong to it. */
  startSegment(index: number, header: { readonly [key: string]: JsonValue }, headerBytes: number): void {
    if (this.#current !== undefined || this.#segment !== undefined) throw new Error('RecordWriter.startSegment: the previous segment is not closed');
    this.#segment = { index, header, headerBytes, part: 0 };
  }

  /** Stores one piece and appends it to the current record; closes the record once it is full. */
  async addPiece(piece: Uint8Array): Promise<void> {
    const record = this.#current ?? this.#openRecord();
    const stored = await this.#tree.writeContent([piece]);
    for (const id of stored.content) record.ids.push(id);
    record.size += stored.size;
    if (record.size >= this.#targetBytes) await this.#close(false);
  }

  /** Closes the current segment's last record, recording the segment's hash. */
  async endSegment(sha256: string): Promise<void> {
    if (this.#segment === undefined) throw new Error('RecordWriter.endSegment: no segment is open');
    // A segment whose last piece exactly filled a record still gets a (possibly empty) closing record.
    if (this.#current === undefined) this.#openRecord();
    await this.#close(true, sha256);
    this.#segment = undefined;
  }

  /** Closes the open record of an unframed stream. */
  async finish(): Promise<void> {
    if (this.#segment !== undefined) throw new Error('RecordWriter.finish: a segment is still open');
    if (this.#current !== undefined) await this.#close(false);
  }

  #openRecord(): OpenRecord {
    const seg = this.#segment;
    this.#current = {
      offset: this.#offset,
      ids: [],
      size: 0,
      ...(seg ? { segment: { index: seg.index, part: seg.part, header: seg.header, headerBytes: seg.headerBytes } } : {}),
    };
    return this.#current;
  }

  async #close(lastOfSegment: boolean, sha256?: string): Promise<void> {
    const record = this.#current!;
    this.#current = undefined;
    const meta: RecordMeta = {
      offset: record.offset,
      ...(record.segment ? { segment: { ...record.segment, last: lastOfSegment, ...(sha256 ? { sha256 } : {}) } } : {}),
    };
    if (this.#segment !== undefined) this.#segment.part++;
    await this.#add({ kind: 'stream', size: record.size, content: record.ids, meta: meta as unknown as { readonly [key: string]: JsonValue } });
    this.#offset += record.size;
  }

  async #add(entry: Omit<TreeEntry, 'name' | 'subtree'>): Promise<void> {
    const index = this.#next++;
    const group = Math.floor(index / RECORDS_PER_GROUP);
    if (group !== this.#openGroup) {
      await this.#tree.add(groupPath(group), { kind: 'dir' });
      this.#openGroup = group;
    }
    await this.#tree.add(recordPath(index), entry);
  }
}
