import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { EbmError } from '@ebm/sdk';
import type { EntryMetadata, JsonValue } from '@ebm/sdk';

/**
 * The portable export container (docs/format.md, "Export container"): one
 * file holding the trees and content blobs a restore of the chosen part of
 * one snapshot needs, readable without the repository.
 *
 *   file   = record(header) record(blob)* record(end)
 *   record = MARK(8) ‖ type(1) ‖ length(4, LE) ‖ body(length) ‖ sha256(type ‖ body)(32)
 *
 * Every record carries its own checksum and starts with the same 8-byte
 * mark, so a reader that meets a damaged record skips to the next mark and
 * recovers everything else. The end record repeats the header, so a damaged
 * first record loses nothing either.
 *
 * Blob body = kind(1: 0 data, 1 tree) ‖ id(32, raw) ‖ stored, where stored =
 * codec(1) ‖ body (0 raw, 1 zstd) — sealed with AES-256-GCM (nonce(12) ‖
 * ciphertext ‖ tag(16), the kind and id as associated data) when the export is
 * encrypted, under a key derived from the export password with scrypt.
 */
export const RECORD_MARK = Buffer.from('EBMXREC1', 'latin1');
export const RECORD_OVERHEAD = RECORD_MARK.length + 1 + 4 + 32;
/** No record is larger: a blob is at most the chunker's maximum (8 MiB by default) plus framing. */
export const MAX_RECORD_BODY = 64 * 1024 * 1024;

export const RecordType = { header: 1, blob: 2, end: 3 } as const;
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

export const BLOB_KIND_CODES = { data: 0, tree: 1 } as const;
export type ExportBlobKind = keyof typeof BLOB_KIND_CODES;

export interface ExportedSnapshot {
  readonly id: string;
  readonly time: string;
  readonly host: string;
  readonly dataset: string;
  readonly source: string;
  readonly tags: readonly string[];
  readonly translator: { readonly id: string; readonly version: string };
  readonly tree: string;
  readonly root?: EntryMetadata;
  readonly meta?: { readonly [key: string]: JsonValue };
}

export type ExportEncryption =
  | { readonly algorithm: 'none' }
  | { readonly algorithm: 'aes-256-gcm'; readonly kdf: { readonly name: 'scrypt'; readonly N: number; readonly r: number; readonly p: number; readonly salt: string }; readonly check: string };

/** What the export holds: in the clear, or sealed in the header of an encrypted export. */
export interface ExportContents {
  readonly snapshot: ExportedSnapshot;
  /** Snapshot paths the export holds (empty: the whole snapshot). */
  readonly includes: readonly string[];
}

export interface ExportHeader {
  readonly format: 'ebm-export';
  readonly version: 1;
  readonly created: string;
  readonly encryption: ExportEncryption;
  /** Unencrypted exports: the contents in the clear. */
  readonly contents?: ExportContents;
  /** Encrypted exports: base64 of sealBody(key, 'header', JSON of the contents), so not even paths or the dataset name leak. */
  readonly sealedContents?: string;
}

export interface ExportEnd {
  readonly header: ExportHeader;
  readonly blobs: number;
  readonly plaintextBytes: number;
}

/** The parts of one record, ready to write (no copy of the body). */
export function encodeRecord(type: RecordTypeCode, body: readonly Uint8Array[]): Buffer[] {
  const length = body.reduce((n, b) => n + b.length, 0);
  if (length > MAX_RECORD_BODY) throw new EbmError('E_INTERNAL', `export record of ${length} bytes exceeds the ${MAX_RECORD_BODY}-byte limit`);
  const head = Buffer.alloc(RECORD_MARK.length + 5);
  RECORD_MARK.copy(head, 0);
  head[RECORD_MARK.length] = type;
  head.writeUInt32LE(length, RECORD_MARK.length + 1);
  const hash = createHash('sha256').update(Uint8Array.of(type));
  for (const b of body) hash.update(b);
  return [head, ...body.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)), hash.digest()];
}

export function recordChecksum(type: number, body: Uint8Array): Buffer {
  return createHash('sha256').update(Uint8Array.of(type)).update(body).digest();
}

const CHECK_TEXT = Buffer.from('ebm-export-password-check', 'utf8');
const NONCE = 12;
const TAG = 16;

/** What a sealed body is bound to (associated data): a blob's kind and id, or the header. */
export type SealPurpose = ExportBlobKind | 'header';

function aad(kind: SealPurpose, id: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(kind, 'latin1'), id]);
}

/** AES-256-GCM with the blob's kind and id as associated data, so a sealed body cannot be moved to another id. */
export function sealBlobBody(key: Uint8Array, kind: SealPurpose, id: Uint8Array, stored: readonly Uint8Array[]): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad(kind, id));
  const out: Buffer[] = [nonce];
  for (const part of stored) out.push(cipher.update(part));
  out.push(cipher.final(), cipher.getAuthTag());
  return Buffer.concat(out);
}

/** Opens a sealed body; undefined when the tag does not verify (wrong key or damage). */
export function openBlobBody(key: Uint8Array, kind: SealPurpose, id: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < NONCE + TAG) return undefined;
  const nonce = sealed.subarray(0, NONCE);
  const tag = sealed.subarray(sealed.length - TAG);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(aad(kind, id));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(NONCE, sealed.length - TAG)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** A sealed known text in the header: tells a wrong password from a damaged blob. */
export function passwordCheck(key: Uint8Array): string {
  return sealBlobBody(key, 'header', Buffer.from('check'), [CHECK_TEXT]).toString('base64');
}

export function passwordMatches(key: Uint8Array, check: string): boolean {
  const opened = openBlobBody(key, 'header', Buffer.from('check'), Buffer.from(check, 'base64'));
  return opened !== undefined && opened.equals(CHECK_TEXT);
}
