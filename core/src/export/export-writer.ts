import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EbmError, throwIfCancelled } from '@ebm/sdk';
import type { TreeEntry } from '@ebm/sdk';
import { loadTree } from '../browse/tree-walker';
import { compressForStorage } from '../compression/payload-codec';
import { deriveKey, kdfParamsForInit, ScryptParams } from '../crypto/kdf';
import type { BlobStore } from '../repository/blob-store';
import type { SnapshotRecord } from '../repository/types';
import {
  BLOB_KIND_CODES, encodeRecord, ExportBlobKind, ExportContents, ExportEncryption, ExportEnd, ExportHeader, passwordCheck, RecordType, sealBlobBody,
} from './export-format';

export interface ExportOptions {
  /** Snapshot-relative paths to export (default: the whole snapshot). */
  readonly includes?: readonly string[];
  /** Encrypts the export under this password (AES-256-GCM, scrypt). */
  readonly password?: string;
  readonly kdf?: ScryptParams;
  readonly compressionLevel?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: { readonly blobs: number; readonly totalBlobs: number; readonly bytes: number }) => void;
}

export interface ExportReport {
  readonly file: string;
  readonly blobs: number;
  readonly trees: number;
  readonly plaintextBytes: number;
  readonly fileBytes: number;
  readonly encrypted: boolean;
}

/**
 * Writes the chosen part of a snapshot as one self-contained export file
 * (export-format.ts). The file appears under its name only when complete:
 * written to a temporary file beside it, fsynced, renamed. An existing
 * output is never replaced.
 */
export async function writeExport(store: BlobStore, snapshot: SnapshotRecord, output: string, options: ExportOptions = {}): Promise<ExportReport> {
  const target = path.resolve(output);
  if (fs.existsSync(target)) throw new EbmError('E_USAGE', `${target} already exists; remove it or choose another --output`, { subject: target });
  const includes = [...new Set((options.includes ?? []).map((p) => p.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '')).filter((p) => p !== ''))];
  const blobs = await chooseBlobs(store, snapshot.tree, includes, options.signal);

  const { encryption, key } = await exportEncryption(options);
  const contents: ExportContents = {
    snapshot: {
      id: snapshot.id, time: snapshot.time, host: snapshot.host, dataset: snapshot.dataset, source: snapshot.source, tags: snapshot.tags,
      translator: snapshot.translator, tree: snapshot.tree,
      ...(snapshot.root ? { root: snapshot.root } : {}),
      ...(snapshot.meta ? { meta: snapshot.meta } : {}),
    },
    includes,
  };
  const header: ExportHeader = {
    format: 'ebm-export',
    version: 1,
    created: new Date().toISOString(),
    encryption,
    ...(key
      ? { sealedContents: sealBlobBody(key, 'header', Buffer.from('contents'), [Buffer.from(JSON.stringify(contents), 'utf8')]).toString('base64') }
      : { contents }),
  };

  const temp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
  const fd = fs.openSync(temp, 'wx', 0o600);
  let fileBytes = 0;
  const write = (parts: readonly Buffer[]): void => {
    for (const part of parts) {
      let off = 0;
      while (off < part.length) off += fs.writeSync(fd, part, off, part.length - off);
      fileBytes += part.length;
    }
  };
  try {
    write(encodeRecord(RecordType.header, [Buffer.from(JSON.stringify(header), 'utf8')]));
    let done = 0;
    let plaintextBytes = 0;
    let trees = 0;
    for (const [id, kind] of blobs) {
      throwIfCancelled(options.signal, 'export');
      const plaintext = await store.loadBlob(id);
      const encoded = compressForStorage(plaintext, options.compressionLevel ?? 3);
      const rawId = Buffer.from(id, 'hex');
      const stored = [Uint8Array.of(encoded.codec), encoded.body];
      const body = key ? [sealBlobBody(key, kind, rawId, stored)] : stored;
      write(encodeRecord(RecordType.blob, [Uint8Array.of(BLOB_KIND_CODES[kind]), rawId, ...body]));
      plaintextBytes += plaintext.length;
      if (kind === 'tree') trees++;
      options.onProgress?.({ blobs: ++done, totalBlobs: blobs.size, bytes: plaintextBytes });
    }
    const end: ExportEnd = { header, blobs: blobs.size, plaintextBytes };
    write(encodeRecord(RecordType.end, [Buffer.from(JSON.stringify(end), 'utf8')]));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(temp, target);
    syncDir(path.dirname(target));
    return { file: target, blobs: blobs.size, trees, plaintextBytes, fileBytes, encrypted: key !== undefined };
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * The blobs a restore of `includes` needs, trees first in walk order: every
 * tree on the way from the root to each included path (so the export keeps
 * the snapshot's structure and paths), and everything below each included
 * path. With no includes: every blob of the snapshot.
 */
async function chooseBlobs(store: BlobStore, rootTree: string, includes: readonly string[], signal: AbortSignal | undefined): Promise<Map<string, ExportBlobKind>> {
  const chosen = new Map<string, ExportBlobKind>();
  const below = async (roots: readonly string[], contents: readonly string[]): Promise<void> => {
    for (const id of contents) if (!chosen.has(id)) chosen.set(id, 'data');
    // Depth-first over the subtrees, recording each blob's kind (a tree already chosen is not walked twice).
    const stack = [...roots];
    while (stack.length > 0) {
      throwIfCancelled(signal, 'export');
      const tree = stack.pop()!;
      if (chosen.get(tree) === 'tree') continue;
      chosen.set(tree, 'tree');
      for (const entry of await loadTree(store, tree)) {
        if (entry.subtree !== undefined) stack.push(entry.subtree);
        for (const id of entry.content ?? []) if (!chosen.has(id)) chosen.set(id, 'data');
      }
    }
  };
  if (includes.length === 0) {
    await below([rootTree], []);
    return chosen;
  }
  for (const include of includes) {
    const parts = include.split('/');
    let tree = rootTree;
    let entry: TreeEntry | undefined;
    for (let i = 0; i < parts.length; i++) {
      chosen.set(tree, 'tree');
      entry = (await loadTree(store, tree)).find((e) => e.name === parts[i]);
      if (entry === undefined) throw new EbmError('E_PATH_NOT_IN_SNAPSHOT', `--include ${include}: ${parts.slice(0, i + 1).join('/')} is not in the snapshot`, { subject: include });
      if (i < parts.length - 1) {
        if (entry.subtree === undefined) throw new EbmError('E_PATH_NOT_IN_SNAPSHOT', `--include ${include}: ${parts.slice(0, i + 1).join('/')} is not a directory`, { subject: include });
        tree = entry.subtree;
      }
    }
    await below(entry!.subtree !== undefined ? [entry!.subtree] : [], entry!.content ?? []);
  }
  return chosen;
}

async function exportEncryption(options: ExportOptions): Promise<{ encryption: ExportEncryption; key?: Buffer }> {
  if (options.password === undefined) return { encryption: { algorithm: 'none' } };
  if (options.password === '') throw new EbmError('E_USAGE', 'an empty export password is not allowed');
  const params = kdfParamsForInit(options.kdf);
  const salt = randomBytes(32);
  const key = await deriveKey(options.password, salt, params);
  return {
    key,
    encryption: { algorithm: 'aes-256-gcm', kdf: { name: 'scrypt', N: params.N, r: params.r, p: params.p, salt: salt.toString('base64') }, check: passwordCheck(key) },
  };
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // best effort: some filesystems refuse fsync on directories
  }
}
