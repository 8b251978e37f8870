import { randomBytes, randomUUID } from 'node:crypto';
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { isSharedArrayBuffer } from 'node:util/types';
import { computeBlobId } from '../chunker/blob-id';
import { ChunkerParams, DEFAULT_CHUNKER_SIZES } from '../chunker/chunker-params';
import type { BlobId, JsonValue } from '../entry/entry';
import { EbmError } from '../errors/ebm-error';
import type { OptionValue } from '../manifest/manifest';
import {
  BackupJobSpec, BlobKind, HostToWorker, LogMessage, PROTOCOL_VERSION, RestoreJobSpec, TaskRequest, TaskResult, WorkerToHost,
} from '../protocol/messages';
import type { ProgressUpdate, SnapshotInfo, Warning } from '../translator/context';
import type { Translator } from '../translator/translator';
import { decodePutBlobs } from './put-blobs-frame';
import { runTask } from './run-task';

/**
 * An in-memory host for tests: it answers the worker protocol over a real
 * MessageChannel in this thread, keeps blobs in a Map (verifying every id it
 * receives), and records what the plugin said. The filesystem translator's
 * tests and the conformance harness use it; it is not a repository format.
 */

export interface MemoryRepositoryOptions {
  /** Chunk sizes (small ones make tests fast); the defaults are DEFAULT_CHUNKER_SIZES. */
  readonly chunker?: Partial<Pick<ChunkerParams, 'minSize' | 'avgSize' | 'maxSize' | 'normalization'>>;
  /** Plugin id used in error records (default 'test'). */
  readonly pluginId?: string;
  /**
   * Content-addressing keys (default: random). Repositories given the same
   * keys give the same blob and tree ids for the same data (the conformance
   * harness compares ids across fresh repositories this way).
   */
  readonly keys?: { readonly idKey: Uint8Array; readonly gearKey: Uint8Array };
}

/** Knobs for misbehaving-host tests, shared by backup and restore. */
export interface MemoryTaskControls {
  readonly options?: Readonly<Record<string, OptionValue>>;
  /** Sends `cancel` right after the host has received this many worker messages. */
  readonly cancelAfterMessages?: number;
  /** Delays every put-blob-ack by this many milliseconds (backpressure tests). */
  readonly ackDelayMs?: number;
}

export interface MemoryBackupRequest extends MemoryTaskControls {
  readonly source: string;
  /** Root tree of the parent snapshot, for incrementals. */
  readonly parentTree?: BlobId;
  /** The translator metadata the parent recorded (PreviousSnapshot.meta), as a host passes it; only with parentTree. */
  readonly parentMeta?: { readonly [key: string]: JsonValue };
  /** Paths changed since the parent (as a trusted change journal would give them); only with parentTree. */
  readonly changedPaths?: readonly string[];
  readonly windowBytes?: number;
}

export interface MemoryRestoreRequest extends MemoryTaskControls {
  readonly tree: BlobId;
  readonly target: string;
  readonly includes?: readonly string[];
  readonly overwrite?: boolean;
  readonly snapshot?: Partial<SnapshotInfo>;
}

/** What the plugin sent besides requests. */
export interface HostEvents {
  readonly progress: ProgressUpdate[];
  readonly logs: Omit<LogMessage, 't'>[];
  readonly warnings: Warning[];
}

/** What the host saw during one task. */
export interface HostCounters {
  messages: number;
  queries: number;
  idsQueried: number;
  /** Blobs received (a put-blobs message counts each of its blobs). */
  putBlobs: number;
  /** put-blob and put-blobs messages (requests) received. */
  putRequests: number;
  putBytes: number;
  /** Of putBytes, the bytes that came as views of shared memory (the worker's ring) rather than in buffers of their own. */
  sharedPutBytes: number;
  dataPuts: number;
  treePuts: number;
  loadTrees: number;
  loadBlobs: number;
  /** Highest amount of put-blob data received and not yet acknowledged. */
  maxUnackedBytes: number;
}

export interface MemoryTaskOutcome {
  readonly result: TaskResult;
  readonly stats: HostCounters;
  readonly events: HostEvents;
}

/**
 * Runs a task somewhere else, e.g. in a worker thread: it must deliver the
 * request (transferring `request.port`) to code that calls runTask.
 */
export type TaskRunner = (request: TaskRequest) => Promise<TaskResult>;

export interface MemoryRepository {
  readonly idKey: Uint8Array;
  readonly chunker: ChunkerParams;
  /** Runs a backup of `translator` in this thread, or through `runner`. */
  backup(translator: Translator | TaskRunner, request: MemoryBackupRequest): Promise<MemoryTaskOutcome>;
  restore(translator: Translator | TaskRunner, request: MemoryRestoreRequest): Promise<MemoryTaskOutcome>;
  has(id: BlobId): boolean;
  /** A copy of a stored blob's plaintext. */
  get(id: BlobId): Uint8Array | undefined;
  /** Stores a blob directly (e.g. a hand-made hostile tree) and returns its id. */
  putBlob(data: Uint8Array, kind: BlobKind): BlobId;
  readonly blobCount: number;
  readonly storedBytes: number;
  /** Events of the most recent task. */
  readonly events: HostEvents;
}

/** Default window for backups through the memory host. */
export const MEMORY_HOST_WINDOW_BYTES = 32 * 1024 * 1024;

export function createMemoryRepository(options: MemoryRepositoryOptions = {}): MemoryRepository {
  const idKey = Uint8Array.from(options.keys?.idKey ?? randomBytes(32));
  const gearKey = Uint8Array.from(options.keys?.gearKey ?? randomBytes(32));
  const chunker: ChunkerParams = { algorithm: 'fastcdc-gear32-v1', ...DEFAULT_CHUNKER_SIZES, ...options.chunker, gearKey };
  const pluginId = options.pluginId ?? 'test';
  const blobs = new Map<BlobId, { readonly kind: BlobKind; readonly data: Uint8Array }>();
  let storedBytes = 0;
  let lastEvents: HostEvents = { progress: [], logs: [], warnings: [] };

  const store = (id: BlobId, kind: BlobKind, data: Uint8Array): void => {
    if (blobs.has(id)) return;
    blobs.set(id, { kind, data });
    storedBytes += data.length;
  };

  const run = async (job: BackupJobSpec | RestoreJobSpec, translator: Translator | TaskRunner, controls: MemoryTaskControls): Promise<MemoryTaskOutcome> => {
    const { port1: hostPort, port2: workerPort } = new MessageChannel();
    const events: HostEvents = { progress: [], logs: [], warnings: [] };
    lastEvents = events;
    const counters: HostCounters = { messages: 0, queries: 0, idsQueried: 0, putBlobs: 0, putRequests: 0, putBytes: 0, sharedPutBytes: 0, dataPuts: 0, treePuts: 0, loadTrees: 0, loadBlobs: 0, maxUnackedBytes: 0 };
    const closed = new Promise<void>((resolve) => hostPort.once('close', () => resolve()));
    let unacked = 0;
    const reply = (message: HostToWorker): void => hostPort.postMessage(message);
    const fail = (seq: number, err: EbmError): void => reply({ t: 'reply-error', seq, error: err.toRecord() });

    hostPort.on('message', (message: WorkerToHost) => {
      counters.messages++;
      if (counters.messages === controls.cancelAfterMessages) reply({ t: 'cancel', reason: `test host cancelled after ${counters.messages} messages` });
      switch (message.t) {
        case 'query-blobs':
          counters.queries++;
          counters.idsQueried += message.ids.length;
          reply({ t: 'query-blobs-reply', seq: message.seq, missing: message.ids.filter((id) => !blobs.has(id)) });
          break;
        case 'put-blob':
        case 'put-blobs': {
          let items;
          try {
            items = message.t === 'put-blob'
              ? [{ id: message.id, kind: message.kind, codec: message.codec, data: message.data }]
              : decodePutBlobs(message.index, message.buffers).map((b) => ({ id: b.id, kind: b.kind, codec: b.codec, data: b.body }));
          } catch (err) {
            fail(message.seq, err as EbmError);
            break;
          }
          const bad = items.find((b) => b.codec === 1 || computeBlobId(idKey, b.data) !== b.id);
          if (bad !== undefined) {
            fail(message.seq, new EbmError('E_CORRUPT_OBJECT', `${message.t} ${bad.id}: the data does not hash to its id`, { subject: bad.id }));
            break;
          }
          counters.putRequests++;
          let size = 0;
          for (const b of items) {
            size += b.data.length;
            counters.putBlobs++;
            counters.putBytes += b.data.length;
            if (isSharedArrayBuffer(b.data.buffer)) counters.sharedPutBytes += b.data.length;
            if (b.kind === 'tree') counters.treePuts++;
            else counters.dataPuts++;
            store(b.id, b.kind, Uint8Array.from(b.data)); // a copy: the bytes are the worker's (its shared ring) once acknowledged
          }
          unacked += size;
          counters.maxUnackedBytes = Math.max(counters.maxUnackedBytes, unacked);
          const ack = (): void => {
            unacked -= size;
            reply({ t: 'put-blob-ack', seq: message.seq });
          };
          if (controls.ackDelayMs) setTimeout(ack, controls.ackDelayMs);
          else ack();
          break;
        }
        case 'load-tree':
        case 'load-blob': {
          const want: BlobKind = message.t === 'load-tree' ? 'tree' : 'data';
          if (want === 'tree') counters.loadTrees++;
          else counters.loadBlobs++;
          const blob = blobs.get(message.id);
          if (blob === undefined || blob.kind !== want) {
            fail(message.seq, new EbmError('E_BLOB_NOT_FOUND', `${want} blob ${message.id} is not in the repository`, { subject: message.id }));
          } else if (message.t === 'load-tree') {
            reply({ t: 'load-tree-reply', seq: message.seq, data: blob.data });
          } else {
            reply({ t: 'load-blob-reply', seq: message.seq, data: blob.data });
          }
          break;
        }
        case 'layer-batch':
          fail(message.seq, new EbmError('E_PROTOCOL', 'the in-memory repository runs backups and restores; a layer-batch belongs to a layer query'));
          break;
        case 'progress':
          events.progress.push(message.progress);
          break;
        case 'log': {
          const { t: _t, ...line } = message;
          events.logs.push(line);
          break;
        }
        case 'warning':
          events.warnings.push(message.warning);
          break;
      }
    });

    const request: TaskRequest = {
      protocol: PROTOCOL_VERSION,
      jobId: randomUUID(),
      plugin: { id: pluginId, version: '0.0.0', entryPath: '/memory' },
      job: structuredClone(job), // what a worker receives is a copy, never the host's object
      port: workerPort as MessagePort,
    };
    const result = typeof translator === 'function' ? await translator(request) : await runTask(request, translator, pluginId);
    await closed; // runTask closed its port: every message it sent has been handled
    return { result: structuredClone(result), stats: counters, events };
  };

  return {
    idKey,
    chunker,
    backup: (translator, req) =>
      run(
        {
          op: 'backup',
          source: req.source,
          options: req.options ?? {},
          ...(req.parentTree ? { parent: { id: `parent-of-${req.source}`, tree: req.parentTree, ...(req.parentMeta !== undefined ? { meta: req.parentMeta } : {}) } } : {}),
          ...(req.parentTree && req.changedPaths ? { changes: { since: `parent-of-${req.source}`, paths: [...req.changedPaths] } } : {}),
          addressing: { idKey, chunker },
          windowBytes: req.windowBytes ?? MEMORY_HOST_WINDOW_BYTES,
        },
        translator,
        req,
      ),
    restore: (translator, req) =>
      run(
        {
          op: 'restore',
          target: req.target,
          overwrite: req.overwrite ?? false,
          tree: req.tree,
          snapshot: { id: 'memory-snapshot', time: new Date(0).toISOString(), source: '', dataset: 'memory', ...req.snapshot },
          includes: req.includes ?? [],
          options: req.options ?? {},
        },
        translator,
        req,
      ),
    has: (id) => blobs.has(id),
    get: (id) => {
      const blob = blobs.get(id);
      return blob === undefined ? undefined : Uint8Array.from(blob.data);
    },
    putBlob: (data, kind) => {
      const id = computeBlobId(idKey, data);
      store(id, kind, Uint8Array.from(data));
      return id;
    },
    get blobCount() {
      return blobs.size;
    },
    get storedBytes() {
      return storedBytes;
    },
    get events() {
      return lastEvents;
    },
  };
}

