import { EbmError } from '@ebm/sdk';
import { Backend, collectBytes, FileInfo, FileType, Handle, SaveData } from './backend';

let counter = 0;

/**
 * An in-memory Backend for fast tests. Behaves like LocalBackend as seen
 * through the interface (same errors, same copy semantics: callers never share
 * buffers with the store). Not durable, obviously.
 */
export class MemoryBackend implements Backend {
  readonly location: string;
  readonly #files = new Map<string, Buffer>();
  #created = false;

  constructor(name = `memory:${++counter}`) {
    this.location = name;
  }

  async save(handle: Handle, data: SaveData): Promise<void> {
    this.#files.set(keyOf(handle), await collectBytes(data));
  }

  async close(): Promise<void> {
    // Nothing is held open.
  }

  async load(handle: Handle, offset = 0, length?: number): Promise<Buffer> {
    const file = this.#get(handle);
    const want = length ?? Math.max(0, file.length - offset);
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(want) || want < 0) {
      throw new EbmError('E_INTERNAL', `${this.#describe(handle)}: invalid range offset=${offset} length=${want}`);
    }
    if (offset + want > file.length) {
      const got = Math.max(0, file.length - offset);
      throw new EbmError('E_CORRUPT_OBJECT', `${this.#describe(handle)}: file is shorter than expected (wanted ${want} bytes at offset ${offset}, got ${got})`, { subject: this.#describe(handle) });
    }
    return Buffer.from(file.subarray(offset, offset + want));
  }

  async stat(handle: Handle): Promise<FileInfo> {
    const file = this.#get(handle);
    return { name: handle.type === 'config' ? 'config' : handle.name, size: file.length };
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    const prefix = `${type}/`;
    // Snapshot the names first so callers may remove files while iterating.
    const entries = [...this.#files.entries()].filter(([key]) => key.startsWith(prefix));
    for (const [key, data] of entries) yield { name: key.slice(prefix.length), size: data.length };
  }

  async remove(handle: Handle): Promise<void> {
    this.#files.delete(keyOf(handle));
  }

  async create(): Promise<void> {
    this.#created = true;
  }

  async isEmpty(): Promise<boolean> {
    return !this.#created && this.#files.size === 0;
  }

  /** Test helper: direct access to a stored file's bytes (a copy), or undefined. */
  peek(handle: Handle): Buffer | undefined {
    const file = this.#files.get(keyOf(handle));
    return file && Buffer.from(file);
  }

  /** Test helper: replaces a file's bytes without any checks (e.g. to simulate corruption). */
  poke(handle: Handle, data: Uint8Array): void {
    this.#files.set(keyOf(handle), Buffer.from(data));
  }

  #get(handle: Handle): Buffer {
    const file = this.#files.get(keyOf(handle));
    if (!file) throw new EbmError('E_STORAGE_NOT_FOUND', `${this.#describe(handle)}: no such file`, { subject: this.#describe(handle) });
    return file;
  }

  #describe(handle: Handle): string {
    return handle.type === 'config' ? `${this.location}/config` : `${this.location}/${handle.type}/${handle.name}`;
  }
}

function keyOf(handle: Handle): string {
  return handle.type === 'config' ? 'config/config' : `${handle.type}/${handle.name}`;
}
