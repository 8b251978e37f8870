import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BlobId } from '../entry/entry';
import { EbmError } from '../errors/ebm-error';
import type { ErrorRecord } from '../errors/ebm-error';
import type { TaskRequest, TaskResult } from '../protocol/messages';
import { runTask } from '../runtime/run-task';
import { createMemoryRepository } from '../runtime/memory-host';
import type { MemoryRepository, MemoryRepositoryOptions, MemoryTaskOutcome, TaskRunner } from '../runtime/memory-host';
import type { SnapshotInfo } from '../translator/context';
import type { HarnessBackupRequest, HarnessHost, HarnessOutcome, HarnessRepository, HarnessRestoreRequest, Mode, PluginUnderTest } from './harness-host';
import type { HarnessWorkerInput, HarnessWorkerOutput } from './harness-worker';

export interface WorkerHarnessHostOptions {
  /** Chunk sizes of the in-memory repositories (default 16/64/256 KiB, so small fixtures still span several chunks). */
  readonly chunker?: MemoryRepositoryOptions['chunker'];
}

const HARNESS_WORKER = path.join(__dirname, 'harness-worker.js');
const SMALL_CHUNKS = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 };

/**
 * The SDK's own harness host: repositories are the SDK's in-memory
 * repository (every blob id verified, nothing on disk), and worker mode runs
 * each task in a fresh, real worker_threads.Worker that loads the plugin's
 * entry module and calls runTask over a transferred MessagePort — the same
 * conversation ebm's plugin host has with its workers. Each worker gets its
 * own TMPDIR, checked for leftovers after the task. For ebm's real plugin
 * host (piscina pool, bootstrap worker, failure mapping) and a real
 * repository, use `createPluginHostHarness` from `@ebm/core/testing`.
 */
export function createWorkerHarnessHost(options: WorkerHarnessHostOptions = {}): HarnessHost {
  const keys = { idKey: new Uint8Array(randomBytes(32)), gearKey: new Uint8Array(randomBytes(32)) };
  const live = new Set<Worker>();
  return {
    label: 'SDK worker thread',
    async createRepository(plugin) {
      const repo = createMemoryRepository({ chunker: options.chunker ?? SMALL_CHUNKS, pluginId: plugin.manifest.id, keys });
      return new MemoryHarnessRepository(repo, plugin, live);
    },
    async close() {
      await Promise.all([...live].map((w) => w.terminate()));
      live.clear();
    },
  };
}

/** What a runner learned besides the result. */
interface RunProbe {
  cancelledAt?: number;
  endedAt?: number;
  workerResourcesLeft?: Readonly<Record<string, number>>;
  workerTempLeft?: readonly string[];
}

class MemoryHarnessRepository implements HarnessRepository {
  /**
   * What ebm records with each snapshot besides its tree (the backup's
   * `meta` and `root`), by tree id: a restore of that tree receives it as
   * ctx.snapshot, as ebm's restore does. The latest backup that gave a tree wins.
   */
  readonly #snapshots = new Map<BlobId, Pick<SnapshotInfo, 'meta' | 'root'>>();

  constructor(
    private readonly repo: MemoryRepository,
    private readonly plugin: PluginUnderTest,
    private readonly live: Set<Worker>,
  ) {}

  async backup(request: HarnessBackupRequest, mode: Mode): Promise<HarnessOutcome> {
    const probe: RunProbe = {};
    const outcome = await this.repo.backup(this.#runner(mode, probe, request.signal), {
      source: request.source,
      ...(request.parentTree !== undefined ? { parentTree: request.parentTree } : {}),
      ...(request.parentMeta !== undefined ? { parentMeta: request.parentMeta } : {}),
      ...(request.options !== undefined ? { options: request.options } : {}),
      ...(request.cancelAfterMessages !== undefined ? { cancelAfterMessages: request.cancelAfterMessages } : {}),
    });
    const r = outcome.result;
    if (r.ok && r.result.op === 'backup') {
      this.#snapshots.set(r.result.tree, { ...(r.result.meta !== undefined ? { meta: r.result.meta } : {}), ...(r.result.root !== undefined ? { root: r.result.root } : {}) });
    }
    return harnessOutcome(outcome, probe);
  }

  async restore(request: HarnessRestoreRequest, mode: Mode): Promise<HarnessOutcome> {
    const probe: RunProbe = {};
    const outcome = await this.repo.restore(this.#runner(mode, probe, request.signal), {
      tree: request.tree,
      target: request.target,
      ...(request.includes !== undefined ? { includes: request.includes } : {}),
      ...(this.#snapshots.has(request.tree) ? { snapshot: this.#snapshots.get(request.tree)! } : {}),
      ...(request.options !== undefined ? { options: request.options } : {}),
      ...(request.cancelAfterMessages !== undefined ? { cancelAfterMessages: request.cancelAfterMessages } : {}),
    });
    return harnessOutcome(outcome, probe);
  }

  async readBlob(id: BlobId): Promise<Uint8Array> {
    const data = this.repo.get(id);
    if (data === undefined) throw new EbmError('E_BLOB_NOT_FOUND', `blob ${id} is not in the in-memory repository`, { subject: id });
    return data;
  }

  async storedBytes(): Promise<number> {
    return this.repo.storedBytes;
  }

  async close(): Promise<void> {
    // Nothing is held: the blobs go with the object.
  }

  #runner(mode: Mode, probe: RunProbe, signal: AbortSignal | undefined): TaskRunner {
    return mode === 'in-process' ? inProcessRunner(this.plugin, probe) : workerRunner(this.plugin, probe, signal, this.live);
  }
}

function harnessOutcome(outcome: MemoryTaskOutcome, probe: RunProbe): HarnessOutcome {
  const s = outcome.stats;
  return {
    result: outcome.result,
    messages: s.messages,
    requests: s.queries + s.putRequests + s.loadTrees + s.loadBlobs,
    treeLoads: s.loadTrees,
    ...(probe.cancelledAt !== undefined && probe.endedAt !== undefined ? { cancelLatencyMs: Math.max(0, probe.endedAt - probe.cancelledAt) } : {}),
    ...(probe.workerResourcesLeft !== undefined ? { workerResourcesLeft: probe.workerResourcesLeft } : {}),
    ...(probe.workerTempLeft !== undefined ? { workerTempLeft: probe.workerTempLeft } : {}),
  };
}

/** runTask in this thread; notes when the host's cancel reached the plugin's end of the port. */
function inProcessRunner(plugin: PluginUnderTest, probe: RunProbe): TaskRunner {
  return async (request: TaskRequest) => {
    request.port.on('message', (message: { t?: unknown }) => {
      if (message?.t === 'cancel' && probe.cancelledAt === undefined) probe.cancelledAt = Date.now();
    });
    const result = await runTask(request, plugin.translator, plugin.manifest.id);
    probe.endedAt = Date.now();
    return result;
  };
}

/** One fresh worker per task; a worker that dies or is stopped gives a failure result, never a rejection. */
function workerRunner(plugin: PluginUnderTest, probe: RunProbe, signal: AbortSignal | undefined, live: Set<Worker>): TaskRunner {
  const pluginId = plugin.manifest.id;
  return (request: TaskRequest) =>
    new Promise<TaskResult>((resolve) => {
      const tmp = mkdtempSync(path.join(os.tmpdir(), 'ebm-harness-worker-'));
      const worker = new Worker(HARNESS_WORKER, {
        env: { ...process.env, TMPDIR: tmp, TMP: tmp, TEMP: tmp },
        resourceLimits: { maxOldGenerationSizeMb: Math.max(64, plugin.manifest.resources?.memoryMiB ?? 512) },
      });
      live.add(worker);
      let done = false;
      const finish = (result: TaskResult): void => {
        if (done) return;
        done = true;
        signal?.removeEventListener('abort', onAbort);
        live.delete(worker);
        void worker.terminate();
        probe.endedAt ??= Date.now();
        probe.workerTempLeft = listAndRemove(tmp);
        resolve(result);
      };
      const failed = (error: ErrorRecord): void => finish({ ok: false, error: { ...error, plugin: pluginId, op: request.job.op } });
      const onAbort = (): void => failed(new EbmError('E_PLUGIN_TIMEOUT', `plugin ${pluginId} overran the harness's time bound; its worker was terminated`).toRecord());
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.once('message', (output: HarnessWorkerOutput) => {
        if (output.cancelledAt !== undefined) probe.cancelledAt = output.cancelledAt;
        probe.endedAt = output.endedAt;
        probe.workerResourcesLeft = output.resourcesLeft;
        finish(output.result);
      });
      worker.once('error', (err: Error & { code?: unknown }) => {
        const code = err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'E_PLUGIN_OUT_OF_MEMORY' : 'E_PLUGIN_CRASHED';
        failed(new EbmError(code, `plugin ${pluginId}'s worker failed: ${err.message}`).toRecord());
      });
      worker.once('exit', (exitCode) => failed(new EbmError('E_PLUGIN_CRASHED', `plugin ${pluginId}'s worker exited with code ${exitCode}`).toRecord()));
      const input: HarnessWorkerInput = { request, entryPath: plugin.entryPath, pluginId };
      worker.postMessage(input, [request.port]);
      if (signal?.aborted) onAbort();
    });
}

function listAndRemove(dir: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return names;
}
