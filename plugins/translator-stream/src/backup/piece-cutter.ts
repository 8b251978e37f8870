import { Chunker, ChunkerParams, TreeWriter } from '@ebm/sdk';

/** Label whose blob id (HMAC under the repository's id key) keys this translator's gear table. */
const GEAR_KEY_LABEL = 'ebm translator-stream gear key v1';

/**
 * The stream's own content-defined chunking, with a smaller average than the
 * repository's file chunker.
 *
 * Why: `ctx.tree.writeContent` always chunks with the repository's
 * parameters (default average 1 MiB, minimum 512 KiB); a translator cannot
 * choose them. Successive dumps of a slowly changing database change a few
 * rows here and there, and with 1 MiB chunks nearly every chunk holds a
 * change. So the stream is cut here first, with FastCDC at `avgSize`
 * (min avg/4, max 4·avg), and each piece goes to `writeContent` on its own:
 * a piece below the repository's minimum chunk size becomes exactly one blob.
 * Boundaries depend only on content, so successive dumps share their pieces.
 *
 * Chunk boundaries leak content unless the gear table is secret, and the
 * translator never sees the repository's keys. The table is therefore keyed
 * with the blob id of a fixed label: an HMAC under the repository's id key,
 * secret to whoever cannot read the repository's keys, and the same in every
 * backup of the repository. (The 33-byte label blob is stored once and never
 * referenced; prune removes it, and the next backup stores it again.)
 */
export class PieceCutter {
  readonly params: Omit<ChunkerParams, 'gearKey'>;
  readonly #chunker: Chunker;

  private constructor(params: ChunkerParams) {
    const { gearKey: _secret, ...shown } = params;
    this.params = shown;
    this.#chunker = new Chunker(params);
  }

  static async create(tree: TreeWriter, avgSize: number): Promise<PieceCutter> {
    const stored = await tree.writeContent([new TextEncoder().encode(GEAR_KEY_LABEL)]);
    const keyId = stored.content[0];
    if (keyId === undefined) throw new Error('writeContent returned no blob id for the gear key label');
    return new PieceCutter({
      algorithm: 'fastcdc-gear32-v1',
      minSize: avgSize / 4,
      avgSize,
      maxSize: avgSize * 4,
      normalization: 2,
      gearKey: Uint8Array.from(Buffer.from(keyId, 'hex')),
    });
  }

  /** The pieces completed by `data` (fresh arrays; `data` is not kept). */
  push(data: Uint8Array): Uint8Array[] {
    return this.#chunker.push(data);
  }

  /** Ends the current piece early (end of stream or of a segment); cutting continues afresh after it. */
  finish(): Uint8Array | undefined {
    return this.#chunker.finish();
  }
}
