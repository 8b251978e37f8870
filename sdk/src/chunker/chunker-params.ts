/**
 * Content-defined chunking parameters, recorded in the repository config.
 * Changing any of them changes chunk boundaries (and so deduplication with
 * existing data), never correctness.
 */
export interface ChunkerParams {
  /** 'fastcdc-gear32-v1': FastCDC, 32-bit gear hash, normalized chunking (docs/format.md). */
  readonly algorithm: 'fastcdc-gear32-v1';
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  /** Normalization level (FastCDC "NC"): masks use avg bits ± level. */
  readonly normalization: number;
  /** Secret key the gear table is derived from (32 bytes; from the repository master key). */
  readonly gearKey: Uint8Array;
}

/** Defaults for file trees: restic-like 512 KiB / 1 MiB / 8 MiB. */
export const DEFAULT_CHUNKER_SIZES = { minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024, normalization: 2 } as const;
