import { performance } from 'node:perf_hooks';
import { PROTOCOL_VERSION, runTask, toErrorRecord } from '@ebm/sdk';
import type { BackupJobSpec, BlobId, RestoreJobSpec, SnapshotInfo, TaskResult } from '@ebm/sdk';
import type { HarnessBackupRequest, HarnessOutcome, HarnessRepository, HarnessRestoreRequest, HarnessTaskControls, Mode, PluginUnderTest } from '@ebm/sdk/testing';
import { RepositoryBlobServer } from '../backup/repository-blob-server';
import type { PluginHost } from '../plugin-host/plugin-host';
import { runSupervisedTask } from '../plugin-host/task-runner';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import { CountingBlobServer, MessageCounts } from './counting-blob-server';

/** Same window the backup service gives a plugin. */
const WINDOW_BYTES = 8 * 1024 * 1024;
let jobs = 0;

/**
 * One harness repository on ebm's real repository format. Worker mode is a
 * job of the real PluginHost (piscina pool, host-owned bootstrap worker that
 * compresses on the worker's core, failure mapping, cooperative cancel then
 * terminate); in-process mode runs the plugin's translator with the SDK's
 * runTask in this thread under the same supervision (runSupervisedTask: host
 * session, stall clock, cancel). A backup's blobs go through a BlobStore
 * into packs and are flushed on success, aborted on failure, as the backup
 * service does.
 */
export class CoreHarnessRepository implements HarnessRepository {
  #storedBytes = 0;
  #reader: Promise<BlobStore> | undefined;

  /** What each backup recorded besides its tree (meta, root), by tree id, for the restores of that tree. */
  readonly #snapshots = new Map<BlobId, Pick<SnapshotInfo, 'meta' | 'root'>>();

  constructor(
    private readonly repo: Repository,
    private readonly plugin: PluginUnderTest,
    private readonly host: PluginHost,
  ) {}

  async backup(request: HarnessBackupRequest, mode: Mode): Promise<HarnessOutcome> {
    const store = await BlobStore.open(this.repo);
    const job: BackupJobSpec = {
      op: 'backup',
      source: request.source,
      options: request.options ?? {},
      ...(request.parentTree !== undefined ? { parent: { id: 'harness-parent', tree: request.parentTree, ...(request.parentMeta !== undefined ? { meta: request.parentMeta } : {}) } } : {}),
      addressing: { idKey: this.repo.keys.id, chunker: this.repo.chunkerParams() },
      windowBytes: WINDOW_BYTES,
      compression: { algorithm: 'zstd', level: this.repo.compressionLevel },
    };
    const outcome = await this.#run(job, new RepositoryBlobServer(store, true), mode, request);
    const r = outcome.result;
    if (r.ok && r.result.op === 'backup') {
      this.#snapshots.set(r.result.tree, { ...(r.result.meta !== undefined ? { meta: r.result.meta } : {}), ...(r.result.root !== undefined ? { root: r.result.root } : {}) });
    }
    if (outcome.result.ok) {
      await store.flush();
      this.#storedBytes += store.stats().bytesAdded;
      this.#reader = undefined; // the index grew
    } else {
      await store.abort().catch(() => undefined);
    }
    return outcome;
  }

  async restore(request: HarnessRestoreRequest, mode: Mode): Promise<HarnessOutcome> {
    const job: RestoreJobSpec = {
      op: 'restore',
      target: request.target,
      overwrite: false,
      tree: request.tree,
      // As ebm's restore: the snapshot's recorded meta and root come with it (the latest backup that gave this tree).
      snapshot: { id: 'harness-snapshot', time: new Date(0).toISOString(), source: '', dataset: 'conformance', ...this.#snapshots.get(request.tree) },
      includes: request.includes ?? [],
      options: request.options ?? {},
    };
    return this.#run(job, new RepositoryBlobServer(await BlobStore.open(this.repo), false), mode, request);
  }

  async readBlob(id: BlobId): Promise<Uint8Array> {
    this.#reader ??= BlobStore.open(this.repo);
    return (await this.#reader).loadBlob(id);
  }

  async storedBytes(): Promise<number> {
    return this.#storedBytes;
  }

  async close(): Promise<void> {
    await this.repo.backend.close();
  }

  async #run(job: BackupJobSpec | RestoreJobSpec, server: RepositoryBlobServer, mode: Mode, controls: HarnessTaskControls): Promise<HarnessOutcome> {
    const pluginId = this.plugin.manifest.id;
    const jobId = `conformance-${++jobs}`;
    const counts: MessageCounts = { messages: 0, requests: 0, treeLoads: 0 };
    const cancel = new AbortController();
    let cancelledAt: number | undefined;
    const onMessage = (): void => {
      if (counts.messages === controls.cancelAfterMessages && !cancel.signal.aborted) {
        cancelledAt = performance.now();
        cancel.abort(new Error(`the conformance harness cancelled after message ${counts.messages}`));
      }
    };
    const notice = (): void => {
      counts.messages++;
      onMessage();
    };
    const signal = controls.signal ? AbortSignal.any([cancel.signal, controls.signal]) : cancel.signal;
    const counting = new CountingBlobServer(server, counts, onMessage);
    const handlers = { onProgress: notice, onLog: notice, onWarning: notice };
    let result: TaskResult;
    if (mode === 'worker') {
      try {
        result = { ok: true, result: await this.host.run(this.plugin, job, counting, { jobId, signal, ...handlers }) };
      } catch (err) {
        result = { ok: false, error: toErrorRecord(err) };
      }
    } else {
      const { config } = this.host;
      result = await runSupervisedTask({
        request: { protocol: PROTOCOL_VERSION, jobId, plugin: { id: pluginId, version: this.plugin.version, entryPath: this.plugin.entryPath }, job },
        server: counting,
        ctx: { pluginId, jobId, op: job.op, heapMiB: this.host.heapLimitMiB(this.plugin) },
        signal,
        stallTimeoutMs: config.stallTimeoutMs,
        cancelGraceMs: config.cancelGraceMs,
        handlers,
        // In this thread: the hard abort cannot terminate anything (the harness's time bound reports a hang).
        start: (request) => runTask(request, this.plugin.translator, pluginId),
      });
    }
    const ended = performance.now();
    return {
      result,
      ...counts,
      ...(cancelledAt !== undefined ? { cancelLatencyMs: ended - cancelledAt } : {}),
    };
  }
}
