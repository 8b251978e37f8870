import type { Backend, FileInfo, FileType, Handle } from '../backend/backend';
import { backendChecksum } from './backend-capabilities';

/**
 * Base of the mover's wrappers: forwards every call to `inner` unchanged.
 * A wrapper overrides what it changes. The optional checksum capability is
 * forwarded only when the inner backend offers it (through
 * `wrapChecksum`, so a wrapper can retry or limit it too), so detection
 * through a stack of wrappers sees what the real backend can do.
 */
export abstract class ForwardingBackend implements Backend {
  protected readonly inner: Backend;
  /** Present iff the inner backend offers it; see ChecksumCapable. */
  readonly checksum?: (handle: Handle) => Promise<string>;

  constructor(inner: Backend) {
    this.inner = inner;
    const fn = backendChecksum(inner);
    if (fn !== undefined) this.checksum = (handle: Handle) => this.wrapChecksum(handle, fn);
  }

  get location(): string {
    return this.inner.location;
  }

  save(handle: Handle, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    return this.inner.save(handle, data);
  }

  load(handle: Handle, offset?: number, length?: number): Promise<Buffer> {
    return this.inner.load(handle, offset, length);
  }

  stat(handle: Handle): Promise<FileInfo> {
    return this.inner.stat(handle);
  }

  list(type: FileType): AsyncIterable<FileInfo> {
    return this.inner.list(type);
  }

  remove(handle: Handle): Promise<void> {
    return this.inner.remove(handle);
  }

  create(): Promise<void> {
    return this.inner.create();
  }

  isEmpty(): Promise<boolean> {
    return this.inner.isEmpty();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  protected wrapChecksum(handle: Handle, fn: (handle: Handle) => Promise<string>): Promise<string> {
    return fn(handle);
  }
}
