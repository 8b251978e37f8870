import * as fs from 'node:fs';
import { EbmError } from '@ebm/sdk';
import { decodePayload } from '../compression/payload-codec';
import { deriveKey, validateScryptParams } from '../crypto/kdf';
import {
  BLOB_KIND_CODES, ExportBlobKind, ExportContents, ExportEnd, ExportHeader, MAX_RECORD_BODY, openBlobBody, passwordMatches, RECORD_MARK, RECORD_OVERHEAD, recordChecksum, RecordType,
} from './export-format';

/** A byte range of the export that could not be read as a valid record. */
export interface ExportDamage {
  readonly offset: number;
  readonly length: number;
  readonly reason: string;
}

interface BlobLocation {
  readonly kind: ExportBlobKind;
  /** Offset of the record (its mark). */
  readonly offset: number;
  readonly bodyLength: number;
}

const HEAD_BYTES = RECORD_MARK.length + 5;
const SCAN_WINDOW = 1024 * 1024;

/**
 * Reads an export file without the repository it came from. Opening scans
 * every record once, checking each one's checksum: damaged ranges are
 * recorded (and skipped to the next record mark), so everything undamaged
 * stays readable. Blobs are re-checked when loaded.
 */
export class ExportReader {
  private constructor(
    readonly file: string,
    readonly header: ExportHeader,
    /** The snapshot and paths the export holds (opened from the sealed header of an encrypted export). */
    readonly contents: ExportContents,
    /** False when the end record is missing or damaged (e.g. a truncated copy). */
    readonly complete: boolean,
    readonly damage: readonly ExportDamage[],
    private readonly fd: number,
    private readonly blobs: ReadonlyMap<string, BlobLocation>,
    private readonly key: Buffer | undefined,
  ) {}

  /**
   * Opens and scans an export. `password` is asked for only when the export
   * is encrypted (E_NO_PASSWORD / E_WRONG_PASSWORD as for repositories).
   * Not an export at all → E_NOT_A_REPOSITORY-like E_CORRUPT_OBJECT naming the file.
   */
  static async open(file: string, password?: () => Promise<string>): Promise<ExportReader> {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new EbmError(code === 'ENOENT' ? 'E_SOURCE_NOT_FOUND' : 'E_PERMISSION', `cannot open export ${file}: ${(err as Error).message}`, { subject: file });
    }
    try {
      const scan = scanRecords(fd, file);
      const header = scan.header ?? scan.end?.header;
      if (header === undefined || header.format !== 'ebm-export' || header.version !== 1) {
        throw new EbmError('E_CORRUPT_OBJECT', `${file} is not a readable ebm export: ${scan.records === 0 ? 'it holds no export records (is it an export?)' : 'its header and end record are both damaged'}`, { subject: file });
      }
      const key = await exportKey(header, file, password);
      const contents = key ? openContents(header, key, file) : header.contents;
      if (contents === undefined || typeof contents.snapshot?.tree !== 'string') throw new EbmError('E_CORRUPT_OBJECT', `${file}: the export header names no snapshot`, { subject: file });
      return new ExportReader(file, header, contents, scan.end !== undefined, scan.damage, fd, scan.blobs, key);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  get blobCount(): number {
    return this.blobs.size;
  }

  has(id: string): boolean {
    return this.blobs.has(id);
  }

  /** Verified plaintext of a blob; E_CORRUPT_OBJECT naming it when it is damaged or missing from the export. */
  loadBlob(id: string): Buffer {
    const loc = this.blobs.get(id);
    const what = `blob ${id} of export ${this.file}`;
    if (loc === undefined) {
      throw new EbmError('E_CORRUPT_OBJECT', `${what} is missing (damaged, or not part of the exported paths)`, { subject: id });
    }
    const record = Buffer.alloc(loc.bodyLength + 32);
    readFully(this.fd, record, loc.offset + HEAD_BYTES);
    const body = record.subarray(0, loc.bodyLength);
    if (!recordChecksum(RecordType.blob, body).equals(record.subarray(loc.bodyLength))) {
      throw new EbmError('E_CORRUPT_OBJECT', `${what}: checksum mismatch (the file changed since it was opened)`, { subject: id });
    }
    const rest = body.subarray(33);
    const stored = this.key ? openBlobBody(this.key, loc.kind, body.subarray(1, 33), rest) : rest;
    if (stored === undefined) throw new EbmError('E_CORRUPT_OBJECT', `${what}: authentication failed`, { subject: id });
    return decodePayload(stored, what);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

interface ScanResult {
  header?: ExportHeader;
  end?: ExportEnd;
  records: number;
  readonly blobs: Map<string, BlobLocation>;
  readonly damage: ExportDamage[];
}

function scanRecords(fd: number, file: string): ScanResult {
  const size = fs.fstatSync(fd).size;
  const result: ScanResult = { records: 0, blobs: new Map(), damage: [] };
  let pos = 0;
  while (pos < size) {
    const problem = readRecordAt(fd, pos, size, result);
    if (typeof problem === 'number') {
      pos = problem;
      continue;
    }
    const next = findMark(fd, pos + 1, size);
    result.damage.push({ offset: pos, length: next - pos, reason: problem });
    pos = next;
  }
  if (result.records === 0 && result.damage.length > 0 && result.damage[0]!.length === size) {
    throw new EbmError('E_CORRUPT_OBJECT', `${file} is not an ebm export (no record mark found)`, { subject: file });
  }
  return result;
}

/** Reads one record at `pos` into `result`; returns the next position, or why the bytes there are not a valid record. */
function readRecordAt(fd: number, pos: number, size: number, result: ScanResult): number | string {
  if (size - pos < RECORD_OVERHEAD) return `${size - pos} trailing bytes are too short to be a record`;
  const head = Buffer.alloc(HEAD_BYTES);
  readFully(fd, head, pos);
  if (!head.subarray(0, RECORD_MARK.length).equals(RECORD_MARK)) return 'no record mark';
  const type = head[RECORD_MARK.length]!;
  const length = head.readUInt32LE(RECORD_MARK.length + 1);
  if (length > MAX_RECORD_BODY || pos + RECORD_OVERHEAD + length > size) return `record length ${length} does not fit the file`;
  const record = Buffer.alloc(length + 32);
  readFully(fd, record, pos + HEAD_BYTES);
  const body = record.subarray(0, length);
  if (!recordChecksum(type, body).equals(record.subarray(length))) return 'checksum mismatch';
  result.records++;
  if (type === RecordType.blob) {
    const kind = body[0] === BLOB_KIND_CODES.tree ? 'tree' : body[0] === BLOB_KIND_CODES.data ? 'data' : undefined;
    if (kind === undefined || length < 33) return 'blob record with an unknown kind';
    result.blobs.set(body.toString('hex', 1, 33), { kind, offset: pos, bodyLength: length });
  } else if (type === RecordType.header) {
    result.header ??= parseJson<ExportHeader>(body);
  } else if (type === RecordType.end) {
    result.end = parseJson<ExportEnd>(body);
  }
  return pos + RECORD_OVERHEAD + length;
}

function findMark(fd: number, from: number, size: number): number {
  const window = Buffer.alloc(SCAN_WINDOW + RECORD_MARK.length);
  for (let pos = from; pos < size; pos += SCAN_WINDOW) {
    const n = fs.readSync(fd, window, 0, Math.min(window.length, size - pos), pos);
    const at = window.subarray(0, n).indexOf(RECORD_MARK);
    if (at >= 0) return pos + at;
  }
  return size;
}

function parseJson<T>(body: Buffer): T | undefined {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

function readFully(fd: number, into: Buffer, position: number): void {
  let off = 0;
  while (off < into.length) {
    const n = fs.readSync(fd, into, off, into.length - off, position + off);
    if (n === 0) throw new EbmError('E_CORRUPT_OBJECT', `export ends early at byte ${position + off}`);
    off += n;
  }
}

async function exportKey(header: ExportHeader, file: string, password: (() => Promise<string>) | undefined): Promise<Buffer | undefined> {
  const enc = header.encryption;
  if (enc.algorithm === 'none') return undefined;
  if (enc.algorithm !== 'aes-256-gcm') throw new EbmError('E_UNSUPPORTED_FORMAT', `${file}: unknown export encryption ${JSON.stringify((enc as { algorithm: unknown }).algorithm)}`, { subject: file });
  if (password === undefined) throw new EbmError('E_NO_PASSWORD', `${file} is encrypted: give its password (EBM_EXPORT_PASSWORD or --export-password-file)`, { subject: file });
  const params = validateScryptParams({ N: enc.kdf.N, r: enc.kdf.r, p: enc.kdf.p }, `${file} header`);
  const key = await deriveKey(await password(), Buffer.from(enc.kdf.salt, 'base64'), params);
  if (!passwordMatches(key, enc.check)) throw new EbmError('E_WRONG_PASSWORD', `the password does not open the export ${file}`, { subject: file });
  return key;
}

function openContents(header: ExportHeader, key: Buffer, file: string): ExportContents | undefined {
  if (header.sealedContents === undefined) return undefined;
  const opened = openBlobBody(key, 'header', Buffer.from('contents'), Buffer.from(header.sealedContents, 'base64'));
  if (opened === undefined) throw new EbmError('E_CORRUPT_OBJECT', `${file}: the sealed export header does not open (damaged)`, { subject: file });
  try {
    return JSON.parse(opened.toString('utf8')) as ExportContents;
  } catch {
    throw new EbmError('E_CORRUPT_OBJECT', `${file}: the sealed export header is not valid JSON`, { subject: file });
  }
}
