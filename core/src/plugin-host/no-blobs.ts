import { EbmError } from '@ebm/sdk';
import type { BlobServer } from './blob-server';

/**
 * The BlobServer of jobs that have no repository (a layer query, a
 * discovery): any blob request is a protocol violation, and the worker's
 * request fails with E_PROTOCOL saying so.
 */
export function noBlobs(what: string): BlobServer {
  const refuse = (): Promise<never> => Promise.reject(new EbmError('E_PROTOCOL', `a ${what} task asked for repository blobs; it is read-only and has no repository`));
  return { missing: refuse, put: refuse, loadTree: refuse, loadBlob: refuse };
}
