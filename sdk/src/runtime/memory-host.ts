import { randomBytes, randomUUID } from 'node:crypto';
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { isSharedArrayBuffer } from 'node:util/types';
import { computeBlobId } from '../chunker/blob-id';
import { ChunkerParams, DEFAULT_CHUNKER_SIZES } from '../chunker/chunker-params';
import type { BlobId } from '../entry/entry';
import { EbmError } from '../errors/ebm-error';
import {
  BackupJobSpec, BlobKind, HostToWorker, PROTOCOL_VERSION, RestoreJobSpec, TaskRequest, WorkerToHost,
} from '../protocol/messages';
import type { Translator } from '../translator/translator';
import { BlobLoans } from './blob-loans';
import { decodePutBlobs } from './put-blobs-frame';
import { runTask } from './run-task';
import type { HostCounters, HostEvents, MemoryRepository, MemoryRepositoryOptions, MemoryTaskControls, MemoryTaskOutcome, TaskRunner } from './memory-host-types';

export type {
  HostCounters, HostEvents, MemoryBackupRequest, MemoryRepository, MemoryRepositoryOptions, MemoryRestoreRequest, MemoryTaskControls, MemoryTaskOutcome, TaskRunner,
} from './memory-host-types';

/**
 * An in-memory host for tests: it answers the worker protocol over a real
 * MessageChannel in this thread, keeps blobs in a Map (verifying every id it
 * receives), and records what the plugin said. The filesystem translator's
 * tests and the conformance harness use it; it is not a repository format.
 */

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
    const counters: HostCounters = { messages: 0, queries: 0, idsQueried: 0, putBlobs: 0, putRequests: 0, putBytes: 0, sharedPutBytes: 0, dataPuts: 0, treePuts: 0, loadTrees: 0, loadBlobs: 0, lentBlobs: 0, loanErrors: 0, maxUnackedBytes: 0 };
    const loans = new BlobLoans({ poison: true });
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
            const region = message.borrow === true ? loans.lend(message.seq, blob.data.length) : undefined;
            region?.set(blob.data);
            if (region !== undefined) counters.lentBlobs++;
            reply({ t: 'load-blob-reply', seq: message.seq, data: region ?? blob.data });
          }
          break;
        }
        case 'release-blob':
          try {
            loans.giveBack(message.of);
          } catch {
            counters.loanErrors++;
          }
          break;
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
    counters.loanErrors += loans.outstanding;
    loans.close();
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

