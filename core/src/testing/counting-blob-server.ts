import type { BlobCodec, BlobKind } from '@ebm/sdk';
import type { BlobServer } from '../plugin-host/blob-server';

/** What the harness counts of one task's conversation. */
export interface MessageCounts {
  messages: number;
  requests: number;
  treeLoads: number;
}

/**
 * Wraps the repository's BlobServer to count the plugin's requests as the
 * host serves them (the notices — progress, log, warning — are counted by
 * the session handlers), and to tell the harness after each message so it
 * can cancel at an exact point of the conversation. The count happens before
 * the server answers, so a cancel triggered by message N reaches the plugin
 * before the reply to N.
 */
export class CountingBlobServer implements BlobServer {
  constructor(
    private readonly inner: BlobServer,
    private readonly counts: MessageCounts,
    private readonly onMessage: () => void,
  ) {}

  missing(ids: readonly string[]): Promise<string[]> {
    this.#request(false);
    return this.inner.missing(ids);
  }

  put(kind: BlobKind, id: string, data: Uint8Array, codec?: BlobCodec): Promise<void> {
    this.#request(false);
    return this.inner.put(kind, id, data, codec);
  }

  loadTree(id: string): Promise<Uint8Array> {
    this.#request(true);
    return this.inner.loadTree(id);
  }

  loadBlob(id: string): Promise<Uint8Array> {
    this.#request(false);
    return this.inner.loadBlob(id);
  }

  #request(tree: boolean): void {
    this.counts.requests++;
    if (tree) this.counts.treeLoads++;
    this.counts.messages++;
    this.onMessage();
  }
}
