import type { BlobId, JsonValue } from '../entry/entry';
import type { OptionValue, PluginDescriptor } from '../manifest/manifest';
import type { TaskResult } from '../protocol/messages';
import type { Translator } from '../translator/translator';

/**
 * What the conformance harness needs from a host: repositories to back up
 * into and restore from, and a way to run one task of the plugin either in
 * this thread or in a worker thread. The SDK ships one implementation
 * (createWorkerHarnessHost: a real worker_threads.Worker running the SDK's
 * runTask against the SDK's in-memory repository); `@ebm/core/testing`
 * ships one that runs the worker side through ebm's real plugin host.
 */

/** Where a task runs: in the test's own thread, or in a worker thread that loads the plugin's entry module. */
export type Mode = 'in-process' | 'worker';
export const MODES: readonly Mode[] = ['in-process', 'worker'];

/** The plugin being tested: its validated manifest and package, and its translator loaded in this thread. */
export interface PluginUnderTest extends PluginDescriptor {
  readonly translator: Translator;
}

export interface HarnessTaskControls {
  /** The plugin's options (the harness passes them deep-frozen). */
  readonly options?: Readonly<Record<string, OptionValue>>;
  /** Cancel the task (cooperatively, with the protocol's `cancel`) right after the host received this many messages from it. */
  readonly cancelAfterMessages?: number;
  /**
   * Aborted by the harness when the task overran its time bound: stop it as
   * hard as the host can (terminate the worker). An in-process task cannot be
   * stopped; the harness reports it and moves on.
   */
  readonly signal?: AbortSignal;
}

export interface HarnessBackupRequest extends HarnessTaskControls {
  readonly source: string;
  /** Root tree of the parent snapshot: makes the backup an incremental. */
  readonly parentTree?: BlobId;
  /** The parent's translator metadata, as the host passes it (PreviousSnapshot.meta). */
  readonly parentMeta?: { readonly [key: string]: JsonValue };
}

export interface HarnessRestoreRequest extends HarnessTaskControls {
  readonly tree: BlobId;
  /** An existing, empty directory. */
  readonly target: string;
  /** Snapshot-relative paths to restore (empty: everything). */
  readonly includes?: readonly string[];
}

/** What the host observed while running one task. */
export interface HarnessOutcome {
  /** The task's result as plain data (a failure never rejects: it is `{ ok: false, error }`). */
  readonly result: TaskResult;
  /** Messages the host received from the plugin's side (requests and notices). */
  readonly messages: number;
  /** Of those, requests (query-blobs, put-blob, load-tree, load-blob). */
  readonly requests: number;
  /** load-tree requests: a backup that made any consulted its parent snapshot. */
  readonly treeLoads: number;
  /** Milliseconds from the host's cancel to the task's end, when the host cancelled it. */
  readonly cancelLatencyMs?: number;
  /**
   * Active resources left in the worker after the task (type → count above
   * what it had before), for hosts that can look inside their worker.
   */
  readonly workerResourcesLeft?: Readonly<Record<string, number>>;
  /** Files the plugin left in the worker's own temporary directory, for hosts that give it one. */
  readonly workerTempLeft?: readonly string[];
}

/**
 * A repository for one conformance case. Every repository a host creates
 * uses the same content-addressing keys, so the same data gives the same
 * blob and tree ids in each of them.
 */
export interface HarnessRepository {
  backup(request: HarnessBackupRequest, mode: Mode): Promise<HarnessOutcome>;
  restore(request: HarnessRestoreRequest, mode: Mode): Promise<HarnessOutcome>;
  /** The verified plaintext of a stored blob (E_BLOB_NOT_FOUND if absent). */
  readBlob(id: BlobId): Promise<Uint8Array>;
  /** Bytes the repository has stored for new blobs so far (how it counts is the host's; compare within one host only). */
  storedBytes(): Promise<number>;
  close(): Promise<void>;
}

export interface HarnessHost {
  /** Names the host in case failures, e.g. 'SDK worker thread' or 'ebm plugin host'. */
  readonly label: string;
  /** A new, empty repository for `plugin`. */
  createRepository(plugin: PluginUnderTest): Promise<HarnessRepository>;
  /** Releases the host's workers and files. The tester calls it after its last case. */
  close(): Promise<void>;
}
