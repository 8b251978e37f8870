/**
 * Measures what a running job uses, for the cost model.
 *
 * What we can measure: translators run in worker threads of this process,
 * and Node 20 cannot read another thread's heap (Worker#getHeapStatistics
 * arrived in Node 22), so the default meter samples the process's resident
 * set size every `intervalMs` while the job runs and reports the peak above
 * the RSS at the job's start. That counts everything the job made the
 * process hold: its worker's heap and stack, its Buffers in flight and the
 * host's pack buffers for it. With several jobs running, each also sees the
 * others' growth, so the figure errs high (a safe error for admission); a
 * job that starts while another frees memory can see less. The EWMA in the
 * cost model smooths both. A meter reading the worker's own peak heap can
 * replace this one through the UsageMeter interface.
 */
export interface UsageProbe {
  /** Stops measuring; the peak memory (MiB) attributed to the job. */
  end(): number;
}

export interface UsageMeter {
  begin(): UsageProbe;
}

const MIB = 1024 * 1024;

export class RssUsageMeter implements UsageMeter {
  readonly #intervalMs: number;
  readonly #probes = new Set<{ start: number; peak: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(intervalMs = 100) {
    this.#intervalMs = intervalMs;
  }

  begin(): UsageProbe {
    const rss = process.memoryUsage.rss();
    const probe = { start: rss, peak: rss };
    this.#probes.add(probe);
    this.#timer ??= setInterval(() => this.#sample(), this.#intervalMs).unref();
    return {
      end: () => {
        this.#sample();
        this.#probes.delete(probe);
        if (this.#probes.size === 0 && this.#timer !== undefined) {
          clearInterval(this.#timer);
          this.#timer = undefined;
        }
        return Math.max(0, (probe.peak - probe.start) / MIB);
      },
    };
  }

  #sample(): void {
    const rss = process.memoryUsage.rss();
    for (const p of this.#probes) if (rss > p.peak) p.peak = rss;
  }
}
