import { isDeepStrictEqual } from 'node:util';
import { EbmError } from '@ebm/sdk';
import type { LayerInfo, LayerReport } from '@ebm/sdk';
import { mayBeSelected } from './layer-selection';

/** Starts reading one announced layer; the backup saves its snapshot only when `gate` resolves, and stops on `signal`. */
export type StartLayer<T> = (layer: LayerInfo, gate: () => Promise<void>, signal: AbortSignal) => Promise<T>;

interface Started<T> {
  readonly layer: LayerInfo;
  readonly result: Promise<T>;
  readonly abort: AbortController;
  readonly verdict: { resolve: () => void; reject: (err: unknown) => void; promise: Promise<void> };
}

/**
 * Writable layers a provider announced during its discovery
 * (LayerDiscoverContext.announce), read while the provider still works on
 * the others — typically while it checks the identity of a base image, so
 * that an endpoint's own layer and its base's check overlap instead of
 * following each other.
 *
 * Contract with the caller: `offer` every announcement; once the report is
 * validated, `confirm` it. A started backup writes its data at once, but its
 * snapshot waits for the verdict (BackupService.commitGate):
 * - a layer the report holds exactly as announced, selected and readable
 *   through its root, is confirmed; `take` gives its outcome;
 * - a layer the report describes otherwise is the provider's bug:
 *   E_PLUGIN_FAILED, and no started layer saves a snapshot;
 * - a layer the final report leaves unselected, or a layer-map layout (read
 *   from the provider's lists, not its root), is dropped: stopped, no
 *   snapshot, and read the ordinary way if at all;
 * - when discovery or validation fails, `abandon` stops them all.
 * Their data packs are unreferenced then, and left for prune.
 */
export class EarlyLayers<T> {
  readonly #started = new Map<string, Started<T>>();
  /** Started, then dropped by confirm: still awaited by settled(). */
  readonly #dropped: Started<T>[] = [];
  #open = true;

  /** `words`: the request's layer selection (`--layers`), checked per layer as selectLayers will check it. */
  constructor(
    private readonly words: readonly string[] | undefined,
    private readonly start: StartLayer<T>,
  ) {}

  /** An announcement (unvalidated, from the provider's worker): started when it is a selected writable layer with a root. */
  offer(layer: LayerInfo): void {
    if (!this.#open || typeof layer?.id !== 'string' || this.#started.has(layer.id)) return;
    if (layer.immutable !== false || typeof layer.root !== 'string' || !mayBeSelected(layer, this.words)) return;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined); // observed by the backup's gate, if it gets there
    const abort = new AbortController();
    const result = this.start(layer, () => promise, abort.signal);
    result.catch(() => undefined); // observed by take() or settled()
    this.#started.set(layer.id, { layer, result, abort, verdict: { resolve, reject, promise } });
  }

  /**
   * The validated report and every layer the provider announced (the task
   * result's list: an announcement may reach the host after the result, and
   * is then checked but not started): confirms or drops each started layer
   * (see the class comment); throws E_PLUGIN_FAILED when a layer was
   * announced otherwise than reported.
   */
  confirm(report: LayerReport, selected: ReadonlySet<string>, plugin: string, announced: readonly LayerInfo[]): void {
    this.#open = false;
    for (const layer of [...announced, ...[...this.#started.values()].map((s) => s.layer)]) {
      const reported = report.layers.find((l) => l.id === layer?.id);
      if (!isDeepStrictEqual(reported, layer)) {
        const err = new EbmError('E_PLUGIN_FAILED', `layer provider ${plugin} announced layer ${String(layer?.id)} of ${report.source} as ${JSON.stringify(layer)} but reported ${reported === undefined ? 'no such layer' : JSON.stringify(reported)}; an announced layer must appear unchanged in the report (nothing of this backup was saved)`, { plugin, op: 'discover', subject: String(layer?.id) });
        this.#stopAll(err);
        throw err;
      }
    }
    for (const [id, s] of this.#started) {
      if (selected.has(id) && report.layout !== 'layer-map') {
        s.verdict.resolve();
      } else {
        this.#stop(s, new EbmError('E_CANCELLED', `layer ${id} was started early but the report does not have it read through its root`));
        this.#dropped.push(s);
        this.#started.delete(id);
      }
    }
  }

  /** The outcome of a confirmed layer, or undefined when it was not started early. */
  take(id: string): Promise<T> | undefined {
    return this.#started.get(id)?.result;
  }

  /** Discovery or validation failed: every started layer stops without a snapshot. */
  abandon(reason: unknown): void {
    this.#open = false;
    this.#stopAll(reason);
  }

  /** Resolves once every started layer's backup has ended (before the lock is released). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#started.values(), ...this.#dropped].map((s) => s.result));
  }

  #stopAll(reason: unknown): void {
    for (const s of this.#started.values()) this.#stop(s, reason);
  }

  #stop(s: Started<T>, reason: unknown): void {
    s.verdict.reject(reason);
    s.abort.abort(reason);
  }
}
