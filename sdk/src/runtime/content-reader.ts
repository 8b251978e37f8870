import type { TreeEntry } from '../entry/entry';
import { EbmError, throwIfCancelled } from '../errors/ebm-error';
import { isSharedArrayBuffer } from 'node:util/types';
import type { LoadBlobReply } from '../protocol/messages';
import type { PortChannel } from './port-channel';

/** Content blobs requested ahead of the one being consumed (hides the round trip to the host). */
export const READ_AHEAD_BLOBS = 4;

/**
 * Streams an entry's content blobs (verified plaintext from the host) in
 * order, a few requests ahead, checking the total against the entry's size
 * when `checkSize` says so. Shared by restores (RestoreContext.readContent)
 * and incrementals (PreviousSnapshot.readContent); `what` names the entry in
 * errors ("entry", "parent entry"), `op` the operation a cancel names.
 * `onBytes` sees every block as it is yielded.
 *
 * With `borrow` (ReadContentOptions.borrow), blobs are asked for on loan: a
 * reply in shared memory (the host's restore ring) is given back with a
 * release-blob as soon as the consumer resumes the loop, and every reply
 * still held or on its way when the loop ends is given back too, so the host
 * can reuse the room. A reply that is not in shared memory is the
 * consumer's, as without `borrow`.
 */
export async function* readEntryContent(
  channel: PortChannel,
  entry: TreeEntry,
  options: { readonly what: string; readonly op: string; readonly signal: AbortSignal; readonly checkSize: boolean; readonly borrow?: boolean; readonly onBytes?: (n: number) => void },
): AsyncGenerator<Uint8Array> {
  const ids = entry.content ?? [];
  if (!Array.isArray(ids)) throw new EbmError('E_CORRUPT_OBJECT', `${options.what} ${JSON.stringify(entry.name)} has a malformed content list`, { subject: entry.name });
  const borrow = options.borrow === true;
  const queue: Promise<LoadBlobReply>[] = [];
  let next = 0;
  let total = 0;
  const giveBack = (reply: LoadBlobReply): void => {
    if (isSharedArrayBuffer(reply.data.buffer)) channel.notify({ t: 'release-blob', of: reply.seq });
  };
  const fill = (): void => {
    while (queue.length < READ_AHEAD_BLOBS && next < ids.length) {
      const loading = channel.request(borrow ? { t: 'load-blob', id: ids[next++]!, borrow: true } : { t: 'load-blob', id: ids[next++]! });
      loading.catch(() => undefined); // observed when its turn comes; no unhandled rejection if the reader stops early
      queue.push(loading);
    }
  };
  fill();
  try {
    while (queue.length > 0) {
      throwIfCancelled(options.signal, options.op);
      const reply = await queue.shift()!;
      fill();
      total += reply.data.length;
      options.onBytes?.(reply.data.length);
      try {
        yield reply.data;
      } finally {
        if (borrow) giveBack(reply);
      }
    }
  } finally {
    // Replies requested ahead and never yielded (the loop ended early): give back their loans when they arrive.
    if (borrow) for (const loading of queue.splice(0)) loading.then(giveBack, () => undefined);
  }
  if (options.checkSize && typeof entry.size === 'number' && total !== entry.size) {
    throw new EbmError('E_CORRUPT_OBJECT', `the content of ${options.what === 'entry' ? '' : `${options.what} `}${JSON.stringify(entry.name)} has ${total} bytes but its entry says ${entry.size}`, { subject: entry.name });
  }
}
