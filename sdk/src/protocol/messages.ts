/**
 * The host ↔ plugin conversation: every message that crosses the worker
 * boundary is typed here, and nothing else crosses it. All messages are plain
 * structured-cloneable data (no class instances, no functions), so the same
 * conversation can later run over a network connection to a backup agent on
 * another machine.
 *
 * Shape of a backup:
 *   host  → worker  TaskRequest (through the worker pool, with a MessagePort)
 *   worker→ host    query-blobs {ids}           host → worker  query-blobs-reply {missing}
 *   worker→ host    put-blob {id, kind, data}   host → worker  put-blob-ack
 *   worker→ host    put-blobs {index, buffers}  host → worker  put-blob-ack   (several small blobs, one index)
 *   worker→ host    load-tree {id}              host → worker  load-tree-reply {data}   (parent lookups)
 *   worker→ host    progress / log / warning    (no reply)
 *   host  → worker  cancel                      (cooperative; the host hard-kills after a grace period)
 *   worker→ host    TaskResult (the pool task's return value)
 * A restore uses load-tree and load-blob (verified plaintext) instead of query/put.
 * A discovery uses none of them. A layer query (layer-files / layer-changes)
 * streams its answer instead:
 *   worker→ host    layer-batch {items}         host → worker  layer-batch-ack   (backpressure window)
 *
 * The worker side chunks and hashes, asks which chunks are missing, and ships
 * only those. The host re-hashes every blob it receives (it never trusts an id).
 *
 * Blob bytes a worker sends are views of shared memory (a SharedArrayBuffer:
 * the job's ring, runtime/shared-ring.ts), which postMessage passes by
 * reference. The worker does not touch a blob's bytes until the host has
 * acknowledged it, and the host copies them out before it verifies them, so
 * what it hashes is what it stores.
 */
import type { MessagePort } from 'node:worker_threads';
import type { BlobId, EntryMetadata, JsonValue } from '../entry/entry';
import type { ErrorRecord } from '../errors/ebm-error';
import type { OptionValue } from '../manifest/manifest';
import type { DiscoveryReport, ProgressUpdate, SnapshotInfo, Warning } from '../translator/context';
import type { ChunkerParams } from '../chunker/chunker-params';
import type { LayerChange, LayerFile, LayerInfo, LayerReport } from '../layers/layer';

/**
 * Bumped only for incompatible changes of this file. Additive changes keep it:
 * a new operation (a host that does not send it is unaffected; a worker that
 * does not know it answers E_PROTOCOL "unknown task operation", which names
 * it), or a new optional field. The layer operations (layer-files,
 * layer-changes and their layer-batch messages) were added this way.
 */
export const PROTOCOL_VERSION = 1;

export type BlobKind = 'data' | 'tree';

// ---------------------------------------------------------------- task (pool)

export interface PluginRef {
  readonly id: string;
  readonly version: string;
  /** Absolute path of the plugin's compiled entry module. */
  readonly entryPath: string;
}

/** Keys the worker side needs to produce blob ids and chunk boundaries identical to the host's. */
export interface ContentAddressing {
  /** HMAC-SHA-256 key for blob ids (32 bytes). */
  readonly idKey: Uint8Array;
  readonly chunker: ChunkerParams;
}

export interface BackupJobSpec {
  readonly op: 'backup';
  readonly source: string;
  readonly options: Readonly<Record<string, OptionValue>>;
  /** The parent snapshot: its id, root tree and the translator metadata it recorded (`meta`, when any). */
  readonly parent?: { readonly id: string; readonly tree: BlobId; readonly meta?: { readonly [key: string]: JsonValue } };
  /** Paths changed since the parent, from a trusted change journal (only with parent); see ChangedPaths. */
  readonly changes?: { readonly since: string; readonly paths: readonly string[] };
  readonly addressing: ContentAddressing;
  /** Max bytes of put-blob data in flight before the worker waits for acks (backpressure). */
  readonly windowBytes: number;
  /** How the repository compresses blobs; a worker side that can compresses before put-blob. */
  readonly compression?: { readonly algorithm: 'zstd'; readonly level: number };
}

export interface RestoreJobSpec {
  readonly op: 'restore';
  readonly target: string;
  readonly overwrite: boolean;
  readonly tree: BlobId;
  readonly snapshot: SnapshotInfo;
  /** Snapshot-relative paths to restore; empty means everything. */
  readonly includes: readonly string[];
  readonly options: Readonly<Record<string, OptionValue>>;
}

/** A read-only look at a source (see Translator.discover, LayerProvider.discover). */
export interface DiscoverJobSpec {
  readonly op: 'discover';
  readonly source: string;
  readonly options: Readonly<Record<string, OptionValue>>;
}

/** The layer queries of a layer provider: its `files(ctx)` or its `changes(ctx)` for one layer. */
export type LayerQueryOp = 'layer-files' | 'layer-changes';

/** Batches in flight (sent, not yet acknowledged) before a layer query waits, unless the job says otherwise. */
export const DEFAULT_LAYER_WINDOW_BATCHES = 4;

/**
 * One layer's files or changes, streamed as layer-batch messages (see
 * LayerProvider.files / .changes). Read-only: no blob messages.
 */
export interface LayerQueryJobSpec {
  readonly op: LayerQueryOp;
  readonly source: string;
  /** The layer's id, from a discovery of the same source. */
  readonly layer: string;
  readonly options: Readonly<Record<string, OptionValue>>;
  /**
   * The discovery the layer id comes from: the worker validates every batch
   * against it (a metacopy's data must come from a layer below). Without it
   * the worker discovers the source itself before the first batch, which
   * costs a discovery (digests read every file): hosts pass it.
   */
  readonly report?: LayerReport;
  /** Batches sent but not acknowledged before the worker waits (default DEFAULT_LAYER_WINDOW_BATCHES). */
  readonly windowBatches?: number;
}

export type JobSpec = BackupJobSpec | RestoreJobSpec | DiscoverJobSpec | LayerQueryJobSpec;
export type TaskOp = JobSpec['op'];

export interface TaskRequest {
  readonly protocol: number;
  readonly jobId: string;
  readonly plugin: PluginRef;
  readonly job: JobSpec;
  readonly port: MessagePort;
}

export interface BackupStats {
  readonly files: number;
  readonly dirs: number;
  /** Entries that are neither files nor directories. */
  readonly others: number;
  /** Files whose content was read. */
  readonly filesRead: number;
  /** Files whose content reference was reused from the parent without reading. */
  readonly filesReused: number;
  /** Logical bytes of all file content in the snapshot. */
  readonly bytesTotal: number;
  /** Bytes actually read from the source. */
  readonly bytesRead: number;
  readonly blobsOffered: number;
  /** Blobs (and their plaintext bytes) the repository lacked and that were shipped. */
  readonly blobsShipped: number;
  readonly bytesShipped: number;
}

export interface BackupTaskResult {
  readonly op: 'backup';
  readonly tree: BlobId;
  readonly root?: EntryMetadata;
  readonly meta?: { readonly [key: string]: JsonValue };
  readonly stats: BackupStats;
  readonly warnings: readonly Warning[];
  /** Warnings beyond the recorded ones (the list is capped). */
  readonly warningsDropped: number;
}

export interface RestoreTaskResult {
  readonly op: 'restore';
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  readonly meta?: { readonly [key: string]: JsonValue };
  readonly warnings: readonly Warning[];
  readonly warningsDropped: number;
}

export interface DiscoverTaskResult {
  readonly op: 'discover';
  readonly report: DiscoveryReport;
  readonly warnings: readonly Warning[];
  readonly warningsDropped: number;
  /**
   * Every layer the discovery announced (layer-ready), in order: messages on
   * the job's port may arrive after this result, so the host checks the
   * report against this list, not against what it happened to receive.
   */
  readonly announced?: readonly LayerInfo[];
}

/** The end of a layer query: what was streamed (the host checks the counts against what it received). */
export interface LayerQueryTaskResult {
  readonly op: LayerQueryOp;
  /** layer-batch messages sent (empty batches included). */
  readonly batches: number;
  /** LayerFile or LayerChange items in them. */
  readonly items: number;
  readonly warnings: readonly Warning[];
  readonly warningsDropped: number;
}

export type AnyTaskResult = BackupTaskResult | RestoreTaskResult | DiscoverTaskResult | LayerQueryTaskResult;

/** A task never rejects for plugin errors: failures come back as data. */
export type TaskResult =
  | { readonly ok: true; readonly result: AnyTaskResult }
  | { readonly ok: false; readonly error: ErrorRecord };

// ---------------------------------------------------------- worker → host

export interface QueryBlobs { readonly t: 'query-blobs'; readonly seq: number; readonly ids: readonly BlobId[] }
/**
 * Storage codec of put-blob data: 0 = the plaintext itself, 1 = one zstd frame
 * of the plaintext (compressed on the worker side, so the host and the network
 * carry fewer bytes), 2 = the plaintext, which the worker's encoder found not
 * worth compressing: the host stores it as is instead of compressing it a
 * second time (added without a version bump, like put-blobs: only the host's
 * own bootstrap worker sends it; a plugin that sent it for compressible data
 * would only cost space). The host decodes and re-hashes either way.
 */
export type BlobCodec = 0 | 1 | 2;
export interface PutBlob {
  readonly t: 'put-blob';
  readonly seq: number;
  readonly id: BlobId;
  readonly kind: BlobKind;
  readonly data: Uint8Array;
  /** Absent means 0 (plaintext). */
  readonly codec?: BlobCodec;
}
/**
 * Several blobs in one message (added without a version bump: only the host's
 * own bootstrap worker sends it, and the host always understands it). `index`
 * holds one binary record per blob (id, kind, codec, which buffer, offset,
 * length; see runtime/put-blobs-frame.ts), each blob a range of one of
 * `buffers`: in a worker, the job's shared ring, so the bodies are not copied
 * to cross. The host stores (and re-hashes) each blob as if it came in its
 * own put-blob and answers one put-blob-ack once all are stored.
 */
export interface PutBlobs {
  readonly t: 'put-blobs';
  readonly seq: number;
  readonly index: Uint8Array;
  readonly buffers: readonly Uint8Array[];
}
export interface LoadTree { readonly t: 'load-tree'; readonly seq: number; readonly id: BlobId }
/**
 * `borrow: true` (added without a version bump, like put-blobs): the worker
 * will give the reply's bytes back with a release-blob once the plugin is
 * done with them, so the host may answer with a view of its restore ring
 * (shared memory, not copied) instead of a buffer of the worker's own. A
 * host that has no ring answers as without it; only a reply in shared
 * memory is released.
 */
export interface LoadBlob { readonly t: 'load-blob'; readonly seq: number; readonly id: BlobId; readonly borrow?: true }
/** The worker is done with the shared bytes of the load-blob-reply to request `of` (a borrowed piece). No reply. */
export interface ReleaseBlobMessage { readonly t: 'release-blob'; readonly of: number }
export interface ProgressMessage { readonly t: 'progress'; readonly progress: ProgressUpdate }
export interface LogMessage {
  readonly t: 'log';
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: Record<string, JsonValue>;
}
export interface WarningMessage { readonly t: 'warning'; readonly warning: Warning }
/**
 * One batch of a layer query's answer (the provider's yielded array, validated
 * by the worker, structured-cloned). The host acknowledges it once its
 * consumer took it: the worker keeps at most the job's windowBatches
 * unacknowledged, so a slow consumer slows the provider.
 */
export interface LayerBatchMessage {
  readonly t: 'layer-batch';
  readonly seq: number;
  readonly items: readonly (LayerFile | LayerChange)[];
}

/**
 * A layer provider's discovery announced a layer (LayerDiscoverContext.announce)
 * before its report. Added without a version bump, like put-blobs: only the
 * host's own bootstrap worker sends it, and the host always understands it.
 */
export interface LayerReadyMessage { readonly t: 'layer-ready'; readonly layer: LayerInfo }

export type WorkerToHost = QueryBlobs | PutBlob | PutBlobs | LoadTree | LoadBlob | LayerBatchMessage | ProgressMessage | LogMessage | WarningMessage | LayerReadyMessage | ReleaseBlobMessage;
/** Requests that expect exactly one reply with the same seq. */
export type WorkerRequest = QueryBlobs | PutBlob | PutBlobs | LoadTree | LoadBlob | LayerBatchMessage;

// ---------------------------------------------------------- host → worker

export interface QueryBlobsReply { readonly t: 'query-blobs-reply'; readonly seq: number; readonly missing: readonly BlobId[] }
export interface PutBlobAck { readonly t: 'put-blob-ack'; readonly seq: number }
export interface LoadTreeReply { readonly t: 'load-tree-reply'; readonly seq: number; readonly data: Uint8Array }
export interface LoadBlobReply { readonly t: 'load-blob-reply'; readonly seq: number; readonly data: Uint8Array }
export interface LayerBatchAck { readonly t: 'layer-batch-ack'; readonly seq: number }
/** A request failed on the host; the worker side throws it as an EbmError. */
export interface ReplyError { readonly t: 'reply-error'; readonly seq: number; readonly error: ErrorRecord }
export interface CancelMessage { readonly t: 'cancel'; readonly reason: string }

export type HostToWorker = QueryBlobsReply | PutBlobAck | LoadTreeReply | LoadBlobReply | LayerBatchAck | ReplyError | CancelMessage;
