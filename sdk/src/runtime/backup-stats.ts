import type { BackupStats } from '../protocol/messages';

/** The counters of one backup, updated in place by the tree writer, the content writer and the shipper. */
export type MutableBackupStats = { -readonly [K in keyof BackupStats]: BackupStats[K] };

export function emptyBackupStats(): MutableBackupStats {
  return {
    files: 0, dirs: 0, others: 0, filesRead: 0, filesReused: 0, bytesTotal: 0, bytesRead: 0, blobsOffered: 0, blobsShipped: 0, bytesShipped: 0,
  };
}
