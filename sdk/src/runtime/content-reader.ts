import type { TreeEntry } from '../entry/entry';
import { EbmError, throwIfCancelled } from '../errors/ebm-error';
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
 */
export async function* readEntryContent(
  channel: PortChannel,
  entry: TreeEntry,
  options: { readonly what: string; readonly op: string; readonly signal: AbortSignal; readonly checkSize: boolean; readonly onBytes?: (n: number) => void },
): AsyncGenerator<Uint8Array> {
  const ids = entry.content ?? [];
  if (!Array.isArray(ids)) throw new EbmError('E_CORRUPT_OBJECT', `${options.what} ${JSON.stringify(entry.name)} has a malformed content list`, { subject: entry.name });
  const queue: Promise<Uint8Array>[] = [];
  let next = 0;
  let total = 0;
  const fill = (): void => {
    while (queue.length < READ_AHEAD_BLOBS && next < ids.length) {
      const loading = channel.request({ t: 'load-blob', id: ids[next++]! }).then((reply) => reply.data);
      loading.catch(() => undefined); // observed when its turn comes; no unhandled rejection if the reader stops early
      queue.push(loading);
    }
  };
  fill();
  while (queue.length > 0) {
    throwIfCancelled(options.signal, options.op);
    const data = await queue.shift()!;
    fill();
    total += data.length;
    options.onBytes?.(data.length);
    yield data;
  }
  if (options.checkSize && typeof entry.size === 'number' && total !== entry.size) {
    throw new EbmError('E_CORRUPT_OBJECT', `the content of ${options.what === 'entry' ? '' : `${options.what} `}${JSON.stringify(entry.name)} has ${total} bytes but its entry says ${entry.size}`, { subject: entry.name });
  }
}
