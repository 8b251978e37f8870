import type { PluginRegistry } from '../plugin-host/plugin-registry';
import type { JobCost, JobRequest } from '../jobs/job-types';

export interface CostModelOptions {
  /** Memory of a translator whose manifest declares none (MiB). Default 256. */
  readonly defaultMemoryMiB?: number;
  /** Costs of the jobs that run no translator. */
  readonly verifyCost?: JobCost;
  readonly forgetCost?: JobCost;
  readonly pruneCost?: JobCost;
  /** Weight of a new measurement in the moving average. Default 0.3. */
  readonly alpha?: number;
  /** Consecutive measurements below the declaration before the estimate may go below it. Default 3. */
  readonly lowerAfter?: number;
  /** No learned estimate goes below this (MiB). Default 16. */
  readonly floorMiB?: number;
}

/** What was learned about one (translator, dataset). */
export interface LearnedUsage {
  /** Exponentially weighted moving average of the measured peak (MiB). */
  readonly ewmaMiB: number;
  readonly samples: number;
  /** Consecutive measurements below the manifest's declaration. */
  readonly belowStreak: number;
}

export const DEFAULT_VERIFY_COST: JobCost = Object.freeze({ workers: 1, memoryMiB: 64, ioStreams: 1 });
export const DEFAULT_FORGET_COST: JobCost = Object.freeze({ workers: 1, memoryMiB: 64, ioStreams: 1 });
export const DEFAULT_PRUNE_COST: JobCost = Object.freeze({ workers: 1, memoryMiB: 256, ioStreams: 1 });

/**
 * What a job costs the budgets.
 *
 * Declared: a backup costs its translator's manifest `resources` (threads →
 * workers, memoryMiB → memory; defaults 1 and defaultMemoryMiB) and one I/O
 * stream. A restore's translator is only known once its snapshot is read, so
 * it is charged the largest declaration among installed translators (never
 * too little). Verify, forget and prune have fixed costs.
 *
 * Learned (backups): after each successful run the queue records the memory
 * the run was measured to use (see usage-meter.ts) per (translator, dataset);
 * the estimate is an EWMA (alpha 0.3) of those measurements. It is never
 * below the declaration unless the last `lowerAfter` (3) measurements were
 * all below it — one lucky run must not shrink the reservation — and never
 * below floorMiB. It may rise above the declaration at once (the translator
 * needs more than it says). The queue caps it at the whole memory budget, so
 * a job that was measured bigger than the budget still runs, alone.
 */
export class CostModel {
  readonly #registry: PluginRegistry;
  readonly #defaultMemoryMiB: number;
  readonly #fixed: Readonly<Record<'verify' | 'forget' | 'prune', JobCost>>;
  readonly #alpha: number;
  readonly #lowerAfter: number;
  readonly #floorMiB: number;
  readonly #learned = new Map<string, LearnedUsage>();

  constructor(registry: PluginRegistry, options: CostModelOptions = {}) {
    this.#registry = registry;
    this.#defaultMemoryMiB = options.defaultMemoryMiB ?? 256;
    this.#fixed = {
      verify: options.verifyCost ?? DEFAULT_VERIFY_COST,
      forget: options.forgetCost ?? DEFAULT_FORGET_COST,
      prune: options.pruneCost ?? DEFAULT_PRUNE_COST,
    };
    this.#alpha = options.alpha ?? 0.3;
    this.#lowerAfter = options.lowerAfter ?? 3;
    this.#floorMiB = options.floorMiB ?? 16;
  }

  /** The cost of the serial verification step of a backup. */
  get verifyCost(): JobCost {
    return this.#fixed.verify;
  }

  /** The cost from declarations only (what submit checks against the budgets). */
  declared(request: JobRequest): JobCost {
    switch (request.kind) {
      case 'backup':
        return this.#translatorCost(request.translator);
      case 'restore': {
        // Any translator may restore the snapshot (layer providers never restore): charge the largest.
        const costs = this.#registry.list().filter((d) => d.manifest.kind === 'translator').map((d) => this.#translatorCost(d.manifest.id));
        return costs.reduce<JobCost>((a, b) => ({ workers: Math.max(a.workers, b.workers), memoryMiB: Math.max(a.memoryMiB, b.memoryMiB), ioStreams: 1 }), { workers: 1, memoryMiB: this.#defaultMemoryMiB, ioStreams: 1 });
      }
      case 'verify':
        return this.#fixed.verify;
      case 'forget':
        return request.prune ? this.#fixed.prune : this.#fixed.forget;
      case 'prune':
        return this.#fixed.prune;
    }
  }

  /** The cost to charge now: the declaration adjusted by what was learned (backups). */
  estimate(request: JobRequest): JobCost {
    const declared = this.declared(request);
    if (request.kind !== 'backup') return declared;
    const learned = this.#learned.get(key(request.translator, request.dataset));
    if (learned === undefined) return declared;
    const ewma = Math.max(this.#floorMiB, Math.ceil(learned.ewmaMiB));
    const memoryMiB = learned.belowStreak >= this.#lowerAfter ? ewma : Math.max(declared.memoryMiB, ewma);
    return { ...declared, memoryMiB };
  }

  /** Records the measured peak memory (MiB) of a finished backup of `dataset` by `translator`. */
  record(translator: string, dataset: string, measuredMiB: number): LearnedUsage {
    const k = key(translator, dataset);
    const declared = this.#translatorCost(translator).memoryMiB;
    const prev = this.#learned.get(k);
    const next: LearnedUsage = {
      ewmaMiB: prev === undefined ? measuredMiB : this.#alpha * measuredMiB + (1 - this.#alpha) * prev.ewmaMiB,
      samples: (prev?.samples ?? 0) + 1,
      belowStreak: measuredMiB < declared ? (prev?.belowStreak ?? 0) + 1 : 0,
    };
    this.#learned.set(k, next);
    return next;
  }

  learned(translator: string, dataset: string): LearnedUsage | undefined {
    return this.#learned.get(key(translator, dataset));
  }

  /** Everything learned, to persist across restarts (keys are "translator\u0000dataset"). */
  export(): Record<string, LearnedUsage> {
    return Object.fromEntries(this.#learned);
  }

  import(data: Readonly<Record<string, LearnedUsage>>): void {
    for (const [k, v] of Object.entries(data)) {
      if (Number.isFinite(v.ewmaMiB) && Number.isInteger(v.samples) && Number.isInteger(v.belowStreak)) this.#learned.set(k, v);
    }
  }

  /** A live query of plugin `id` (outside any job): one worker and its declared memory; it uses no repository I/O stream. */
  queryCost(id: string): JobCost {
    return { ...this.#translatorCost(id), workers: 1, ioStreams: 0 };
  }

  #translatorCost(id: string): JobCost {
    const resources = this.#registry.has(id) ? this.#registry.get(id).manifest.resources : undefined;
    return { workers: resources?.threads ?? 1, memoryMiB: resources?.memoryMiB ?? this.#defaultMemoryMiB, ioStreams: 1 };
  }
}

function key(translator: string, dataset: string): string {
  return `${translator}\u0000${dataset}`;
}
