import { EbmError } from '@ebm/sdk';
import type { BlobServer } from '../plugin-host/blob-server';
import type { ExportReader } from './export-reader';

/**
 * Serves a restore from an export file: trees and data blobs come from the
 * export (each re-checked as it is read); an export is read-only, so a
 * plugin that tries to store anything gets E_PROTOCOL.
 */
export class ExportBlobServer implements BlobServer {
  constructor(private readonly reader: ExportReader) {}

  async missing(ids: readonly string[]): Promise<string[]> {
    return ids.filter((id) => !this.reader.has(id));
  }

  async put(): Promise<void> {
    throw new EbmError('E_PROTOCOL', `a restore from the export ${this.reader.file} cannot store blobs`);
  }

  async loadTree(id: string): Promise<Uint8Array> {
    return this.reader.loadBlob(id);
  }

  async loadBlob(id: string): Promise<Uint8Array> {
    return this.reader.loadBlob(id);
  }
}
