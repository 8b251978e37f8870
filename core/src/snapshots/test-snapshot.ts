import type { Snapshot } from '../repository/types';

/** Test helper: a valid Snapshot with plausible values; override what the test is about. */
export function makeSnapshot(overrides: Partial<Snapshot> = {}): Snapshot {
  return {
    v: 1,
    time: '2025-03-01T10:00:00.000Z',
    host: 'web1',
    username: 'root',
    dataset: 'home',
    translator: { id: 'filesystem', version: '0.1.0' },
    source: '/home',
    tags: [],
    tree: 'a'.repeat(64),
    summary: {
      files: 3, dirs: 1, others: 0, filesRead: 3, filesReused: 0, bytesTotal: 30, bytesRead: 30,
      blobsOffered: 4, blobsShipped: 4, bytesShipped: 30, bytesAdded: 200, blobsAdded: 4, durationMs: 12, warnings: [], warningsDropped: 0,
    },
    ...overrides,
  };
}
