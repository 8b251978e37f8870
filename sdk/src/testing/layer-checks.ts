import { isDeepStrictEqual } from 'node:util';
import { isEbmError } from '../errors/ebm-error';
import type { LayerChange, LayerFile, LayerReport } from '../layers/layer';
import { validateLayerBatch, validateLayerReport } from '../layers/validate-layer-report';
import { CheckFailed } from './conformance-failure';
import type { LayerCaseRun } from './layer-case-run';
import { mergedViewOf, readTree, viewDifferences } from './layer-merged-view';
import type { LayerRunner } from './layer-runner';
import type { LayerFixture } from './layer-tester-options';

/** Everything a provider says about a source: the report and each layer's files and changes, flattened. */
export interface LayerAnswers {
  readonly report: LayerReport;
  readonly files: Readonly<Record<string, readonly LayerFile[]>>;
  readonly changes: Readonly<Record<string, readonly LayerChange[]>>;
  /** The batches as the provider yielded them (for the structured-clone check). */
  readonly batches: readonly unknown[];
}

/** Discovers `source` and asks for every layer's files and changes; each answer is checked against the contract. */
export async function collectAnswers(run: LayerCaseRun, runner: LayerRunner, source: string, fixture: LayerFixture): Promise<LayerAnswers> {
  const raw = await run.discover(runner, source, fixture);
  const report = contract(() => validateLayerReport(raw, run.plugin.manifest.id));
  const files: Record<string, readonly LayerFile[]> = {};
  const changes: Record<string, readonly LayerChange[]> = {};
  const batches: unknown[] = [];
  const options = fixture.options ?? {};
  for (const layer of report.layers) {
    for (const op of ['files', 'changes'] as const) {
      const r = await run.ok(runner, { op, source, layer: layer.id, options }, `the ${op} of layer ${layer.id}`);
      const list: (LayerFile | LayerChange)[] = [];
      for (const batch of r.batches ?? []) {
        batches.push(batch);
        list.push(...contract(() => (op === 'files' ? validateLayerBatch(batch, 'files', report, layer.id, run.plugin.manifest.id) : validateLayerBatch(batch, 'changes', report, layer.id, run.plugin.manifest.id))));
      }
      expectPreOrder(list.map((e) => e.path), `the ${op} of layer ${layer.id}`);
      if (op === 'files') files[layer.id] = list as LayerFile[];
      else changes[layer.id] = list as LayerChange[];
    }
  }
  return { report, files, changes, batches };
}

/**
 * Discovery: the report keeps the contract and matches what the fixture
 * expects; each layer's file list agrees with its counts; the expected
 * changes are reported; and, with a merged-view oracle, applying every
 * layer's changes in order gives exactly the merged tree.
 */
export async function discoveryCase(run: LayerCaseRun, fixture: LayerFixture): Promise<void> {
  const built = await run.build(fixture);
  await run.eachRunner(async (runner) => {
    const a = await collectAnswers(run, runner, built.source, fixture);
    const problems = [...expectedProblems(a, fixture), ...countProblems(a)];
    if (built.merged !== undefined) {
      const expected = await mergedViewOf(a.report, new Map(Object.entries(a.changes))).catch((err: Error) => {
        problems.push(`the merged view cannot be computed from the layers: ${err.message}`);
        return undefined;
      });
      const diffs = expected === undefined ? [] : viewDifferences(expected, await readTree(built.merged));
      if (diffs.length > 0) problems.push(`applying the layers' changes in order does not give the merged view ${built.merged}:\n${diffs.slice(0, 20).join('\n')}`);
    }
    if (problems.length > 0) throw new CheckFailed(problems.join('\n'));
    return { report: a.report, files: a.files, changes: a.changes };
  });
}

/** Determinism: two discoveries (and files and changes) of an unchanged source are equal, immutable digests included. */
export async function determinismCase(run: LayerCaseRun, fixture: LayerFixture): Promise<void> {
  const built = await run.build(fixture);
  await run.eachRunner(async (runner) => {
    const first = await collectAnswers(run, runner, built.source, fixture);
    const second = await collectAnswers(run, runner, built.source, fixture);
    for (const key of ['report', 'files', 'changes'] as const) {
      if (!isDeepStrictEqual(first[key], second[key])) throw new CheckFailed(`two ${key === 'report' ? 'discoveries' : `${key} answers`} of the unchanged source differ (order included): answers must be deterministic`);
    }
    return first.report.layers.map((l) => l.digest ?? null);
  });
}

function contract<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new CheckFailed(isEbmError(err) ? err.message : String(err));
  }
}

function expectPreOrder(paths: readonly string[], what: string): void {
  const seen = new Set<string>();
  const all = new Set(paths);
  for (const p of paths) {
    if (seen.has(p)) throw new CheckFailed(`${what} names ${p} twice`);
    const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : undefined;
    if (parent !== undefined && all.has(parent) && !seen.has(parent)) throw new CheckFailed(`${what} is not in depth-first pre-order: ${p} comes before its directory ${parent}`);
    seen.add(p);
  }
}

function expectedProblems(a: LayerAnswers, fixture: LayerFixture): string[] {
  const problems: string[] = [];
  const e = fixture.expect;
  if (e === undefined) return problems;
  if (e.layout !== undefined && a.report.layout !== e.layout) problems.push(`the layout is ${a.report.layout}, expected ${e.layout}`);
  if (e.layers !== undefined) {
    if (a.report.layers.length !== e.layers.length) problems.push(`the report has ${a.report.layers.length} layers, expected ${e.layers.length}`);
    e.layers.forEach((want, i) => {
      const got = a.report.layers[i] as unknown as Record<string, unknown> | undefined;
      if (got === undefined) return;
      for (const [key, value] of Object.entries(want)) if (!isDeepStrictEqual(got[key], value)) problems.push(`layers[${i}].${key} is ${JSON.stringify(got[key])}, expected ${JSON.stringify(value)}`);
    });
  }
  for (const [order, wanted] of Object.entries(e.changes ?? {})) {
    const layer = a.report.layers[Number(order)];
    if (layer === undefined) {
      problems.push(`expected changes for layer ${order}, but the report has no such layer`);
      continue;
    }
    const got = a.changes[layer.id] ?? [];
    for (const w of wanted) {
      const match = got.find((c) => c.path === w.path && c.change === w.change
        && (w.lowerPath === undefined || c.lowerPath === w.lowerPath) && (w.dataPath === undefined || c.dataFrom?.path === w.dataPath));
      if (match === undefined) {
        const same = got.filter((c) => c.path === w.path);
        problems.push(`layer ${layer.id} (order ${order}) does not report ${JSON.stringify(w)}; for ${w.path} it reports ${same.length === 0 ? 'nothing' : JSON.stringify(same)}`);
      }
    }
  }
  return problems;
}

function countProblems(a: LayerAnswers): string[] {
  const problems: string[] = [];
  for (const layer of a.report.layers) {
    const files = a.files[layer.id] ?? [];
    const count = files.filter((f) => f.type !== 'dir').length;
    const bytes = files.reduce((n, f) => n + f.size, 0);
    if (count !== layer.files) problems.push(`layer ${layer.id} reports files: ${layer.files}, but its file list has ${count} non-directory entries`);
    if (bytes !== layer.bytes) problems.push(`layer ${layer.id} reports bytes: ${layer.bytes}, but its file list sums to ${bytes}`);
  }
  return problems;
}
