import { createHmac } from 'node:crypto';

/**
 * The gear table of FastCDC: 256 pseudo-random 32-bit values, one per byte
 * value. It is keyed per repository so that chunk boundaries do not reveal
 * content to someone who only sees chunk sizes (lessons.md, "Chunking").
 *
 * Derivation (part of the repository format, 'fastcdc-gear32-v1'):
 *   table[i] = first 4 bytes, little-endian, of
 *              HMAC-SHA-256(gearKey, ASCII "ebm-gear-v1" ‖ one byte i)
 * for i = 0..255.
 */
export const GEAR_TABLE_LABEL = 'ebm-gear-v1';

let lastKey: Uint8Array | undefined;
let lastTable: Uint32Array | undefined;

/**
 * Builds (or returns the memoised) gear table for `gearKey`. The result is
 * shared: treat it as read-only.
 */
export function createGearTable(gearKey: Uint8Array): Uint32Array {
  if (lastTable !== undefined && lastKey !== undefined && sameBytes(lastKey, gearKey)) return lastTable;
  const table = new Uint32Array(256);
  const label = Buffer.from(GEAR_TABLE_LABEL, 'ascii');
  const message = Buffer.alloc(label.length + 1);
  label.copy(message, 0);
  for (let i = 0; i < 256; i++) {
    message[label.length] = i;
    table[i] = createHmac('sha256', gearKey).update(message).digest().readUInt32LE(0);
  }
  lastKey = Uint8Array.from(gearKey);
  lastTable = table;
  return table;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
