/** What the repository check found. The check never throws on damage: it reports it here. */
export type CheckProblemKind = 'index' | 'pack' | 'snapshot' | 'tree' | 'blob';

export interface CheckProblem {
  readonly kind: CheckProblemKind;
  /** The damaged thing: an index, pack, snapshot or blob id. */
  readonly subject: string;
  readonly message: string;
}

export interface CheckCounts {
  readonly indexFiles: number;
  /** Packs named by some index. */
  readonly packs: number;
  /** Distinct blobs in the index. */
  readonly blobs: number;
  readonly snapshots: number;
  /** Distinct trees walked. */
  readonly trees: number;
  /** Packs re-read in full (--read-data). */
  readonly packsRead: number;
  /** Blobs decrypted, decompressed and re-hashed (--read-data). */
  readonly blobsRead: number;
}

export interface CheckReport {
  /** True when `errors` is empty. */
  readonly ok: boolean;
  readonly errors: readonly CheckProblem[];
  /**
   * Packs no index names: leftovers of an interrupted backup or prune.
   * Legitimate, not errors; prune removes them.
   */
  readonly unreferencedPacks: readonly string[];
  readonly counts: CheckCounts;
}

export type CheckPhase = 'index' | 'packs' | 'snapshots' | 'trees' | 'read-data';

export interface CheckProgress {
  readonly phase: CheckPhase;
  readonly done: number;
  readonly total?: number;
}

/** Which packs --read-data re-reads: all, a random percentage, or the nth of `of` groups (by pack name). */
export type ReadDataSubset = { readonly percent: number } | { readonly nth: number; readonly of: number };

export interface CheckOptions {
  /** Re-read every pack (or the subset) and verify every byte. */
  readonly readData?: boolean;
  /** Implies readData. */
  readonly readDataSubset?: ReadDataSubset;
  readonly onProgress?: (progress: CheckProgress) => void;
  readonly signal?: AbortSignal;
}

/** Turns anything caught while checking one item into a message. */
export function describeError(err: unknown): string {
  if (err !== null && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
