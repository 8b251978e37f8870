import { EbmError, TreeEntry, TreeWriter } from '@ebm/sdk';

export type NewEntry = Omit<TreeEntry, 'name' | 'subtree'>;

interface Queued {
  readonly path: string;
  /** Resolves to the entry to add, or undefined to leave the path out. */
  readonly entry: NewEntry | Promise<NewEntry | undefined>;
  /** For a pending read: set once it settled (then awaiting `entry` costs no wait). */
  readonly read?: { settled: boolean };
  /** A parent directory kept whole (tree.reuseSubtree) instead of added. */
  readonly subtree?: TreeEntry;
}

/**
 * Lets file reads run a few at a time while `tree.add` still sees entries in
 * exactly the order they were pushed (the walk's depth-first order), one
 * awaited call at a time, as the TreeWriter contract requires.
 *
 * Entries wait in a FIFO; a pending read counts against `maxReads`. Every
 * push first adds the entries at the head that are ready (no read, or a read
 * that has settled), so the queue stays short when reads keep up (most
 * entries of an incremental are ready at once); when too many reads are in
 * flight (or too many entries queued), it also waits for the head's read.
 */
export class OrderedAdder {
  readonly #queue: Queued[] = [];
  #head = 0;
  #readsInFlight = 0;

  constructor(
    private readonly tree: TreeWriter,
    private readonly maxReads: number,
    private readonly maxQueued: number,
    private readonly onAdded: (path: string, entry: NewEntry) => void,
  ) {}

  /** Queues a ready entry. */
  async push(path: string, entry: NewEntry): Promise<void> {
    this.#queue.push({ path, entry });
    await this.#makeRoom();
  }

  /** Queues a parent directory to keep whole with its subtree (the caller checked it carries a tally). */
  async pushSubtree(path: string, entry: TreeEntry): Promise<void> {
    this.#queue.push({ path, entry, subtree: entry });
    await this.#makeRoom();
  }

  /** Queues an entry that a read will produce; the read has already started. */
  async pushPending(path: string, entry: Promise<NewEntry | undefined>): Promise<void> {
    this.#readsInFlight++;
    const read = { settled: false };
    const tracked = entry.finally(() => {
      this.#readsInFlight--;
      read.settled = true;
    });
    // Marked handled now; the rejection is rethrown when the head reaches it.
    tracked.catch(() => undefined);
    this.#queue.push({ path, entry: tracked, read });
    await this.#makeRoom();
  }

  /** Adds everything still queued. */
  async drain(): Promise<void> {
    while (this.#head < this.#queue.length) await this.#addHead();
  }

  async #makeRoom(): Promise<void> {
    while (this.#head < this.#queue.length) {
      const head = this.#queue[this.#head]!;
      const ready = head.read === undefined || head.read.settled;
      if (!ready && this.#readsInFlight < this.maxReads && this.#queue.length - this.#head <= this.maxQueued) return;
      await this.#addHead();
    }
  }

  async #addHead(): Promise<void> {
    const item = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as unknown as Queued; // let it be collected
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    if (item.subtree !== undefined) {
      if (this.tree.reuseSubtree === undefined || !(await this.tree.reuseSubtree(item.path, item.subtree))) {
        throw new EbmError('E_INTERNAL', `the parent's directory ${item.path} could not be reused whole`, { subject: item.path });
      }
      this.onAdded(item.path, item.subtree);
      return;
    }
    const entry = await item.entry;
    if (entry === undefined) return;
    await this.tree.add(item.path, entry);
    this.onAdded(item.path, entry);
  }
}
