import type { ErrorCode } from '../errors/catalogue';
import type { ErrorRecord } from '../errors/ebm-error';
import { expectClones, expectErrorSurvives } from './checks/structured-clone';
import { CheckFailed } from './conformance-failure';
import { collectAnswers } from './layer-checks';
import type { LayerCaseRun } from './layer-case-run';
import type { LayerCancelPoint, LayerRequest } from './layer-runner';
import type { InvalidLayerSource, LayerFixture } from './layer-tester-options';

/** Codes that are not a provider's answer to bad input, with what they mean. */
const NOT_AN_ANSWER: Partial<Record<ErrorCode, string>> = {
  E_PLUGIN_FAILED: 'the provider threw an untyped error (or broke the contract)',
  E_INTERNAL: 'an internal error escaped',
  E_PLUGIN_CRASHED: "the provider's worker crashed",
  E_PLUGIN_TIMEOUT: 'the provider stopped answering',
  E_CANCELLED: 'the request was cancelled though nobody cancelled it',
};

/**
 * Cancellation: every request cancelled before it starts, a discovery
 * cancelled at the provider's first progress update (when it sends any), and
 * files/changes cancelled after their first batch (when they have more than
 * one) end with E_CANCELLED within the cancel bound.
 */
export async function layerCancellationCase(run: LayerCaseRun, fixture: LayerFixture): Promise<void> {
  const built = await run.build(fixture);
  const options = fixture.options ?? {};
  await run.eachRunner(async (runner) => {
    const a = await collectAnswers(run, runner, built.source, fixture);
    const observed: string[] = [];
    const expectCancelled = async (request: LayerRequest, what: string): Promise<void> => {
      const r = await run.request(runner, request, run.options.timeouts.taskMs, what);
      // r.cancelled false: the cancel reached a worker only after the request had ended (a discovery that
      // finished before the host's cancel crossed the thread boundary); there is nothing to check.
      if (r.ok && !r.cancelled) {
        observed.push(what);
        return;
      }
      if (r.ok) throw new CheckFailed(`${what} completed anyway: the provider ignored the cancel`);
      if (r.error.code !== 'E_CANCELLED') throw new CheckFailed(`${what} ended with ${r.error.code} (${r.error.message}) instead of E_CANCELLED`);
      if (r.cancelLatencyMs !== undefined && r.cancelLatencyMs > run.options.timeouts.cancelMs) {
        throw new CheckFailed(`${what} took ${Math.round(r.cancelLatencyMs)} ms to stop after the cancel (bound ${run.options.timeouts.cancelMs} ms)`);
      }
      observed.push(what);
    };
    const at = (cancel: LayerCancelPoint, op: LayerRequest['op'], layer?: string): LayerRequest => ({ op, source: built.source, options, cancel, ...(layer !== undefined ? { layer } : {}) });
    await expectCancelled(at('start', 'discover'), 'a discovery cancelled before it started');
    const probe = await run.request(runner, at('first-progress', 'discover'), run.options.timeouts.taskMs, 'a discovery cancelled at its first progress update');
    if (probe.progressUpdates > 0) await expectCancelled(at('first-progress', 'discover'), 'a discovery cancelled at its first progress update');
    for (const layer of a.report.layers) {
      for (const op of ['files', 'changes'] as const) {
        await expectCancelled(at('start', op, layer.id), `the ${op} of layer ${layer.id} cancelled before they started`);
        const whole = await run.ok(runner, { op, source: built.source, options, layer: layer.id }, `the ${op} of layer ${layer.id}`);
        if ((whole.batches?.length ?? 0) > 1) await expectCancelled(at({ afterBatches: 1 }, op, layer.id), `the ${op} of layer ${layer.id} cancelled after their first batch`);
      }
    }
    return observed;
  });
}

/**
 * Structured clone and frozen inputs: the report, every batch and every
 * warning are plain data that survive a structured clone, while the
 * provider ran with deep-frozen options (a provider that mutates them fails
 * with a TypeError, reported as E_PLUGIN_FAILED).
 */
export async function layerCloneCase(run: LayerCaseRun, fixture: LayerFixture): Promise<void> {
  const built = await run.build(fixture);
  await run.eachRunner(async (runner) => {
    const a = await collectAnswers(run, runner, built.source, fixture);
    expectClones(a.report, 'the discovery report');
    a.batches.forEach((b, i) => expectClones(b, `batch ${i}`));
    const r = await run.ok(runner, { op: 'discover', source: built.source, options: fixture.options ?? {} }, 'the discovery');
    expectClones(r.warnings, 'the warnings');
    return a.batches.length;
  });
}

/** A source that does not exist is refused with a typed error (not an untyped failure), promptly. */
export async function missingSourceCase(run: LayerCaseRun, fixture: LayerFixture): Promise<void> {
  const source = run.dirs.missing('source');
  await refused(run, { op: 'discover', source, options: fixture.options ?? {} }, [], `the discovery of ${source}`);
}

/** A files/changes request for a layer the source does not have is refused with E_INVALID_SOURCE. */
export async function unknownLayerCase(run: LayerCaseRun, fixture: LayerFixture): Promise<void> {
  const built = await run.build(fixture);
  for (const op of ['files', 'changes'] as const) {
    await refused(run, { op, source: built.source, layer: 'no-such-layer', options: fixture.options ?? {} }, ['E_INVALID_SOURCE'], `the ${op} of layer "no-such-layer"`);
  }
}

/** An author-supplied invalid source is refused with a typed error (one of the expected codes, if given). */
export async function authoredInvalidLayerCase(run: LayerCaseRun, invalid: InvalidLayerSource): Promise<void> {
  const dir = await run.dirs.make('invalid');
  const returned = await invalid.build(dir);
  const expect = invalid.expect === undefined ? [] : typeof invalid.expect === 'string' ? [invalid.expect] : [...invalid.expect];
  const source = typeof returned === 'string' ? returned : dir;
  await refused(run, { op: 'discover', source, options: invalid.options ?? {} }, expect, `the discovery of ${source}`);
}

async function refused(run: LayerCaseRun, request: LayerRequest, expect: readonly ErrorCode[], what: string): Promise<void> {
  await run.eachRunner(async (runner) => {
    const r = await run.request(runner, request, run.options.timeouts.invalidInputMs, what);
    if (r.ok) throw new CheckFailed(`${what} succeeded; it must fail with a typed error${expect.length > 0 ? ` (${expect.join(' or ')})` : ' such as E_SOURCE_NOT_FOUND or E_INVALID_SOURCE'}`);
    checkTyped(r.error, expect, what);
    expectErrorSurvives(r.error, `the error record (${r.error.code})`);
    return r.error.code;
  });
}

function checkTyped(error: ErrorRecord, expect: readonly ErrorCode[], what: string): void {
  const wrong = NOT_AN_ANSWER[error.code];
  if (wrong !== undefined) throw new CheckFailed(`${what}: ${wrong} (${error.code}: ${error.message}); refuse bad input with an EbmError whose code says what is wrong`);
  if (expect.length > 0 && !expect.includes(error.code)) throw new CheckFailed(`${what} failed with ${error.code} (${error.message}); expected ${expect.join(' or ')}`);
  if (error.message.trim() === '') throw new CheckFailed(`${what}: the error ${error.code} has an empty message; name the thing at fault`);
}
