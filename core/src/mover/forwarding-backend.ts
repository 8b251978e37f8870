import type { Backend, FileInfo, FileType, Handle, SaveData } from '../backend/backend';
import { backendChecksum, readIntoFunction, stagingDirectory, temporaryFileRemover } from './backend-capabilities';
import type { TemporaryFilesRemoved } from './backend-capabilities';

/**
 * Base of the mover's wrappers: forwards every call to `inner` unchanged.
 * A wrapper overrides what it changes. The optional capabilities
 * (backend-capabilities.ts: checksum, staging directory, temporary-file
 * removal, read-into) are offered only when the inner backend offers them,
 * so detection through a stack of wrappers sees what the real backend can
 * do. The two that do I/O go through `wrapChecksum` and `wrapLoadInto`, so a
 * wrapper can retry, limit or count them as it does its other calls.
 */
export abstract class ForwardingBackend implements Backend {
  protected readonly inner: Backend;
  /** Present iff the inner backend offers it; see ChecksumCapable. */
  readonly checksum?: (handle: Handle) => Promise<string>;
  /** Present iff the inner backend offers it; see StagingCapable (a staged file's save goes through every wrapper). */
  readonly stagingDirectory?: string;
  /** Present iff the inner backend offers it; see TemporaryFilesCapable. */
  readonly removeTemporaryFiles?: (type: FileType) => Promise<TemporaryFilesRemoved>;
  /** Present iff the inner backend offers it; see ReadIntoCapable (through `wrapLoadInto`, which a wrapper overrides as it does `load`). */
  readonly loadInto?: (handle: Handle, offset: number, target: Uint8Array) => Promise<void>;

  constructor(inner: Backend) {
    this.inner = inner;
    const fn = backendChecksum(inner);
    if (fn !== undefined) this.checksum = (handle: Handle) => this.wrapChecksum(handle, fn);
    const staging = stagingDirectory(inner);
    if (staging !== undefined) this.stagingDirectory = staging;
    const remover = temporaryFileRemover(inner);
    if (remover !== undefined) this.removeTemporaryFiles = remover;
    const into = readIntoFunction(inner);
    if (into !== undefined) this.loadInto = (handle: Handle, offset: number, target: Uint8Array) => this.wrapLoadInto(handle, offset, target, into);
  }

  get location(): string {
    return this.inner.location;
  }

  save(handle: Handle, data: SaveData): Promise<void> {
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

  protected wrapLoadInto(handle: Handle, offset: number, target: Uint8Array, fn: (handle: Handle, offset: number, target: Uint8Array) => Promise<void>): Promise<void> {
    return fn(handle, offset, target);
  }
}
