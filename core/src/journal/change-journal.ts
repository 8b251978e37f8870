import * as fs from 'node:fs';
import * as path from 'node:path';
import { FSWATCH_LATENCY_S, FswatchProcess } from './fswatch-process';

/**
 * What a backup gets from the journal: the paths changed since its parent
 * (trusted), or why it must scan everything. `commit` after the snapshot is
 * saved, `abort` when the backup failed (its paths are kept for the next one).
 */
export interface JournalCut {
  readonly trusted: boolean;
  /** Snapshot-relative paths changed since the parent; only when trusted. */
  readonly paths?: readonly string[];
  /** Why the journal was not used; only when not trusted. */
  readonly reason?: string;
  commit(snapshotId: string): void;
  abort(): void;
}

export interface ChangeJournalOptions {
  /** Every Nth backup scans everything even with a trusted journal (0 = never). */
  readonly fullScanEvery?: number;
  /** More changed paths than this and a full scan is cheaper: the cut is not trusted. */
  readonly maxPaths?: number;
  /** The fswatch executable (tests may give another path). */
  readonly command?: string;
  readonly onGap?: (reason: string) => void;
}

export interface ChangeJournalStatus {
  readonly root: string;
  readonly state: 'starting' | 'watching' | 'gap';
  readonly reason?: string;
  /** The snapshot the pending paths are relative to, if any. */
  readonly base?: string;
  readonly pendingPaths: number;
  /** The fswatch process, while one runs. */
  readonly watcherPid?: number;
}

/** Events fswatch read before the cut must have arrived: wait this long (more than its latency) before taking the paths. */
const CUT_SETTLE_MS = Math.round(FSWATCH_LATENCY_S * 1000 * 3);
const DEFAULT_MAX_PATHS = 100_000;
const RESTART_DELAY_MS = 1000;

/**
 * The change journal of one dataset's source directory, kept by the host
 * process (`ebm serve`) between backups.
 *
 * Trust rule: a backup may use the journal only if the journal has watched
 * the source without a gap since its parent snapshot was cut — the parent
 * was itself taken by this journal epoch (`base`), after fswatch's watches
 * were all set up, and since then there was no overflow, no restart of the
 * watcher or the host, no error, and the root is the same directory (device
 * and inode). Otherwise the backup scans everything and the snapshot records
 * why; that backup becomes the base of the next one.
 */
export class ChangeJournal {
  readonly root: string;
  readonly #options: ChangeJournalOptions;
  #process: FswatchProcess | undefined;
  #epoch = 0;
  #ready = false;
  /** Set while the watcher is down after a gap (until the next epoch is watching). */
  #gapReason: string | undefined;
  /** The last gap, reported (and cleared) by the next cut: that backup scans in full and says why. */
  #unreportedGap: string | undefined;
  #identity: string | undefined;
  #paths = new Set<string>();
  #base: string | undefined;
  #sinceFullScan = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(root: string, options: ChangeJournalOptions = {}) {
    this.root = fs.realpathSync(root);
    this.#options = options;
  }

  /** Starts watching; resolves when the watches are set up (or the start failed: see status()). */
  async start(): Promise<void> {
    this.#startEpoch();
    await this.#process!.ready.catch(() => undefined);
  }

  status(): ChangeJournalStatus {
    return {
      root: this.root,
      state: this.#gapReason !== undefined ? 'gap' : this.#ready ? 'watching' : 'starting',
      ...(this.#gapReason !== undefined ? { reason: this.#gapReason } : {}),
      ...(this.#base !== undefined ? { base: this.#base } : {}),
      pendingPaths: this.#paths.size,
      ...(this.#process?.pid !== undefined && this.#gapReason === undefined ? { watcherPid: this.#process.pid } : {}),
    };
  }

  /** Takes the paths changed since the last cut, for a backup whose parent is `parentId`. */
  async cut(parentId: string | undefined, full: boolean): Promise<JournalCut> {
    await new Promise((r) => setTimeout(r, CUT_SETTLE_MS));
    const epoch = this.#epoch;
    const readyAtCut = this.#ready && this.#gapReason === undefined && this.#sameRoot();
    const taken = this.#paths;
    this.#paths = new Set();
    const every = this.#options.fullScanEvery ?? 0;
    const reason = this.#distrust(parentId, full, readyAtCut, taken.size, every);
    this.#unreportedGap = undefined;
    const commit = (snapshotId: string): void => {
      const stillSame = epoch === this.#epoch && this.#gapReason === undefined;
      this.#base = readyAtCut && stillSame ? snapshotId : undefined;
      this.#sinceFullScan = reason === undefined ? this.#sinceFullScan + 1 : 0;
    };
    const abort = (): void => {
      if (epoch === this.#epoch) for (const p of taken) this.#paths.add(p);
    };
    if (reason !== undefined) return { trusted: false, reason, commit, abort };
    return { trusted: true, paths: [...taken], commit, abort };
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    this.#process?.stop();
  }

  #distrust(parentId: string | undefined, full: boolean, readyAtCut: boolean, changed: number, every: number): string | undefined {
    if (full) return 'a full backup was requested';
    if (parentId === undefined) return 'there is no parent snapshot (a baseline)';
    const gap = this.#gapReason ?? this.#unreportedGap;
    if (gap !== undefined) return `the journal has a gap: ${gap}`;
    if (!readyAtCut) return this.#ready ? `the source root ${this.root} was replaced (another device or inode)` : 'the journal is still setting up its watches';
    if (this.#base === undefined) return 'the journal started after the parent snapshot was taken (host restart, journal just enabled, or after a gap)';
    if (this.#base !== parentId) return `the parent snapshot ${parentId.slice(0, 8)} is not the one the journal continues from (${this.#base.slice(0, 8)}): the dataset was backed up elsewhere`;
    if (every > 0 && this.#sinceFullScan + 1 >= every) return `a periodic full scan (every ${every} backups)`;
    const max = this.#options.maxPaths ?? DEFAULT_MAX_PATHS;
    if (changed > max) return `${changed} paths changed (more than ${max}): a full scan is cheaper`;
    return undefined;
  }

  #startEpoch(): void {
    this.#epoch++;
    this.#ready = false;
    this.#identity = identityOf(this.root);
    const epoch = this.#epoch;
    const proc = new FswatchProcess(this.root, {
      onChange: (absPath) => {
        if (epoch !== this.#epoch) return;
        const rel = path.relative(this.root, absPath);
        if (!rel.startsWith('..')) this.#paths.add(rel.split(path.sep).join('/'));
      },
      onGap: (reason) => {
        if (epoch !== this.#epoch || this.#closed) return;
        this.#gapReason = reason;
        this.#unreportedGap = reason;
        this.#base = undefined;
        this.#paths.clear();
        this.#options.onGap?.(reason);
        this.#process?.stop();
        // Keep the reason until a new epoch is watching; the next backup scans in full and says why.
        this.#restartTimer = setTimeout(() => this.#startEpoch(), RESTART_DELAY_MS);
        this.#restartTimer.unref();
      },
    }, this.#options.command);
    this.#process = proc;
    proc.ready.then(
      () => {
        if (epoch !== this.#epoch) return;
        this.#ready = true;
        this.#gapReason = undefined; // watching again; #unreportedGap still explains the next backup's full scan
      },
      () => undefined,
    );
  }

  #sameRoot(): boolean {
    return identityOf(this.root) === this.#identity;
  }
}

function identityOf(root: string): string | undefined {
  try {
    const st = fs.statSync(root, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}
