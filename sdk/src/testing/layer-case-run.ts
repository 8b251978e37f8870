import { isDeepStrictEqual } from 'node:util';
import type { LayerReport } from '../layers/layer';
import { CaseDirs } from './case-dirs';
import { CheckFailed, ConformanceFailure } from './conformance-failure';
import { describeDifferences } from './differences';
import type { LayerPluginUnderTest, LayerRequest, LayerRunner, LayerRunResult } from './layer-runner';
import type { LayerFixture, LayerFixtureBuild, ResolvedLayerOptions } from './layer-tester-options';

/** How long a runner may take to stop a request after the tester gave up on it. */
const HARD_STOP_GRACE_MS = 6_000;

/**
 * One run of one layer-provider case: its directories and the fixtures'
 * teardowns (run at the end, pass or fail), and the problems found, each
 * labelled with the runner it showed on.
 */
export class LayerCaseRun {
  readonly problems: string[] = [];
  readonly #teardowns: (() => Promise<void> | void)[] = [];

  private constructor(
    readonly caseName: string,
    readonly fixtureName: string | undefined,
    readonly plugin: LayerPluginUnderTest,
    readonly options: ResolvedLayerOptions,
    readonly dirs: CaseDirs,
  ) {}

  static async start(caseName: string, fixtureName: string | undefined, plugin: LayerPluginUnderTest, options: ResolvedLayerOptions): Promise<LayerCaseRun> {
    return new LayerCaseRun(caseName, fixtureName, plugin, options, await CaseDirs.create());
  }

  /** Builds `fixture` in a new directory; its teardown is registered for the end of the case. */
  async build(fixture: LayerFixture): Promise<LayerFixtureBuild & { readonly dir: string }> {
    const dir = await this.dirs.make('source');
    const returned = await fixture.build(dir);
    const built: LayerFixtureBuild = typeof returned === 'string' ? { source: returned } : returned ?? { source: dir };
    if (built.teardown) this.#teardowns.push(() => built.teardown!());
    return { ...built, dir };
  }

  /**
   * Runs `check` on each runner, records what fails where, and when all
   * succeed requires their observations (plain data) to be equal.
   */
  async eachRunner<T>(check: (runner: LayerRunner) => Promise<T>): Promise<void> {
    const seen: { label: string; value: T }[] = [];
    for (const runner of this.options.runners) {
      try {
        seen.push({ label: runner.label, value: await check(runner) });
      } catch (err) {
        this.problems.push(`${runner.label}: ${err instanceof CheckFailed ? err.message : `unexpected error: ${(err as Error)?.stack ?? String(err)}`}`);
      }
    }
    for (const other of seen.slice(1)) {
      if (!isDeepStrictEqual(seen[0]!.value, other.value)) {
        this.problems.push(`the ${seen[0]!.label} and ${other.label} runs disagree:\n${describeDifferences(seen[0]!.value, other.value, [seen[0]!.label, other.label]).join('\n')}`);
      }
    }
  }

  /** Runs one request within `boundMs`; past it the runner is told to stop and the check fails as a hang naming `what`. */
  async request(runner: LayerRunner, request: LayerRequest, boundMs: number, what: string): Promise<LayerRunResult> {
    const stop = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((resolve) => {
      timer = setTimeout(() => {
        stop.abort();
        timer = setTimeout(() => resolve('hang'), HARD_STOP_GRACE_MS);
      }, boundMs);
    });
    try {
      const winner = await Promise.race([runner.run(this.plugin, request, stop.signal), hang]);
      if (winner === 'hang' || stop.signal.aborted) throw new CheckFailed(`${what} did not end within ${boundMs} ms: a hang`);
      return winner;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A request that must succeed: its report (discover) or its batches, flattened. */
  async ok(runner: LayerRunner, request: LayerRequest, what: string): Promise<LayerRunResult & { readonly ok: true }> {
    const r = await this.request(runner, request, this.options.timeouts.taskMs, what);
    if (!r.ok) throw new CheckFailed(`${what} failed with ${r.error.code}: ${r.error.message}`);
    return r;
  }

  async discover(runner: LayerRunner, source: string, fixture: LayerFixture, what = 'the discovery'): Promise<LayerReport> {
    const r = await this.ok(runner, { op: 'discover', source, options: fixture.options ?? {} }, what);
    if (r.report === undefined) throw new CheckFailed(`${what} returned no report`);
    // An announced layer is one the host may already be reading: the report must describe it exactly so.
    const layers = Array.isArray((r.report as { layers?: unknown }).layers) ? r.report.layers : [];
    for (const a of r.announced ?? []) {
      const reported = layers.find((l) => l?.id === a?.id);
      // Cloned: a plugin loaded in its own realm builds objects with another Object prototype.
      if (!isDeepStrictEqual(structuredClone(reported), structuredClone(a))) {
        throw new CheckFailed(`${what} announced layer ${JSON.stringify(a?.id)} as ${JSON.stringify(a)}, but its report ${reported === undefined ? 'has no such layer' : `says ${JSON.stringify(reported)}`}: an announced layer must appear unchanged in the report`);
      }
    }
    return r.report;
  }

  /** Releases directories after running teardowns; throws the collected problems. */
  async finish(): Promise<void> {
    for (const teardown of this.#teardowns.splice(0).reverse()) {
      try {
        await teardown();
      } catch (err) {
        this.problems.push(`the fixture's teardown failed: ${(err as Error).message}`);
      }
    }
    await this.dirs.remove().catch(() => undefined);
    if (this.problems.length > 0) throw new ConformanceFailure(this.caseName, this.fixtureName, this.problems);
  }
}
