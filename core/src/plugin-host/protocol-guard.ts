import { BLOB_ID_PATTERN, EbmError, isErrorCode } from '@ebm/sdk';
import type { WorkerToHost } from '@ebm/sdk';

/**
 * Checks a message from a plugin worker against protocol/messages.ts before
 * the host acts on it. A plugin is third-party code: anything malformed is
 * E_PROTOCOL (the job fails), never a crash of the host.
 */

const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error']);
/** Upper bound on ids in one query (the SDK batches far fewer); stops a plugin making the host allocate without limit. */
const MAX_QUERY_IDS = 1 << 16;
/** Upper bound on items in one layer batch (providers yield ~1000); the same allocation guard. */
const MAX_BATCH_ITEMS = 1 << 16;
/** Upper bound on buffers in one put-blobs (the SDK sends its ring and the odd private copy); a record names one by a uint16. */
const MAX_PUT_BUFFERS = 1 << 16;

export function parseWorkerMessage(raw: unknown, pluginId: string): WorkerToHost {
  const bad = (problem: string): never => {
    throw new EbmError('E_PROTOCOL', `plugin ${pluginId} sent a malformed message: ${problem}`, { plugin: pluginId });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad(`expected an object, got ${describe(raw)}`);
  const m = raw as Record<string, unknown>;
  const seq = (): void => {
    if (!Number.isSafeInteger(m.seq) || (m.seq as number) < 0) bad(`"${String(m.t)}" needs a non-negative integer seq, got ${describe(m.seq)}`);
  };
  const blobId = (value: unknown, field: string): void => {
    if (typeof value !== 'string' || !BLOB_ID_PATTERN.test(value)) bad(`"${String(m.t)}" field ${field} must be a blob id (64 lowercase hex), got ${describe(value)}`);
  };
  switch (m.t) {
    case 'query-blobs':
      seq();
      if (!Array.isArray(m.ids) || m.ids.length > MAX_QUERY_IDS) bad(`"query-blobs" ids must be an array of at most ${MAX_QUERY_IDS} blob ids`);
      (m.ids as unknown[]).forEach((id, i) => blobId(id, `ids[${i}]`));
      break;
    case 'put-blob':
      seq();
      blobId(m.id, 'id');
      if (m.kind !== 'data' && m.kind !== 'tree') bad(`"put-blob" kind must be "data" or "tree", got ${describe(m.kind)}`);
      if (!(m.data instanceof Uint8Array)) bad(`"put-blob" data must be a Uint8Array, got ${describe(m.data)}`);
      if (m.codec !== undefined && m.codec !== 0 && m.codec !== 1 && m.codec !== 2) bad(`"put-blob" codec must be 0, 1 or 2, got ${describe(m.codec)}`);
      break;
    case 'put-blobs':
      // The records inside are checked as they are read (decodePutBlobs: E_PROTOCOL naming the record).
      seq();
      if (!(m.index instanceof Uint8Array)) bad(`"put-blobs" index must be a Uint8Array, got ${describe(m.index)}`);
      if (!Array.isArray(m.buffers) || m.buffers.length > MAX_PUT_BUFFERS) bad(`"put-blobs" buffers must be an array of at most ${MAX_PUT_BUFFERS} Uint8Arrays`);
      (m.buffers as unknown[]).forEach((b, i) => {
        if (!(b instanceof Uint8Array)) bad(`"put-blobs" buffers[${i}] must be a Uint8Array, got ${describe(b)}`);
      });
      break;
    case 'load-tree':
      seq();
      blobId(m.id, 'id');
      break;
    case 'load-blob':
      seq();
      blobId(m.id, 'id');
      if (m.borrow !== undefined && m.borrow !== true) bad(`"load-blob" borrow must be true or absent, got ${describe(m.borrow)}`);
      break;
    case 'release-blob':
      if (!Number.isSafeInteger(m.of) || (m.of as number) < 0) bad(`"release-blob" needs the non-negative integer seq of a load-blob in of, got ${describe(m.of)}`);
      break;
    case 'layer-batch':
      // Shape only: the host validates the items against the job's report (validateLayerBatch) where it has one.
      seq();
      if (!Array.isArray(m.items) || m.items.length > MAX_BATCH_ITEMS) bad(`"layer-batch" items must be an array of at most ${MAX_BATCH_ITEMS} entries`);
      (m.items as unknown[]).forEach((item, i) => {
        if (typeof item !== 'object' || item === null || typeof (item as { path?: unknown }).path !== 'string') bad(`"layer-batch" items[${i}] must be an object with a string path, got ${describe(item)}`);
      });
      break;
    case 'layer-ready':
      // Shape only: the layered backup compares it with the discovery's validated report.
      if (typeof m.layer !== 'object' || m.layer === null || typeof (m.layer as { id?: unknown }).id !== 'string') bad(`"layer-ready" needs a layer object with a string id, got ${describe(m.layer)}`);
      break;
    case 'progress':
      if (typeof m.progress !== 'object' || m.progress === null) bad(`"progress" needs a progress object, got ${describe(m.progress)}`);
      break;
    case 'log':
      if (!LOG_LEVELS.has(m.level as string)) bad(`"log" level must be debug, info, warn or error, got ${describe(m.level)}`);
      if (typeof m.message !== 'string') bad(`"log" message must be a string, got ${describe(m.message)}`);
      if (m.fields !== undefined && (typeof m.fields !== 'object' || m.fields === null)) bad(`"log" fields must be an object`);
      break;
    case 'warning': {
      const w = m.warning as Record<string, unknown> | null | undefined;
      if (typeof w !== 'object' || w === null || typeof w.path !== 'string' || typeof w.message !== 'string' || !isErrorCode(w.code)) {
        bad(`"warning" needs {path, code, message} with a catalogue code, got ${describe(w)}`);
      }
      break;
    }
    default:
      bad(`unknown message type ${describe(m.t)}`);
  }
  return m as unknown as WorkerToHost;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return `a ${value.constructor.name}`;
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).slice(0, 8).join(', ') || '(none)'}`;
  return `${typeof value} ${String(value)}`;
}
