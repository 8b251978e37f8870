import { createHmac } from 'node:crypto';
import { BlobId } from '../entry/entry';

/**
 * A blob's id: HMAC-SHA-256 of its plaintext under the repository's id key,
 * lowercase hex. Keyed so that reading a repository does not reveal whether a
 * known file is stored in it.
 */
export function computeBlobId(idKey: Uint8Array, plaintext: Uint8Array): BlobId {
  return createHmac('sha256', idKey).update(plaintext).digest('hex');
}

export const BLOB_ID_PATTERN = /^[0-9a-f]{64}$/;
