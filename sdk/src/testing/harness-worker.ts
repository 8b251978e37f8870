/**
 * The worker module of the SDK's harness host (worker-host.ts): it loads the
 * plugin's entry module the way ebm's bootstrap worker does (reflect-metadata
 * first, when the plugin can see it; then `require`, or `import` for an ES
 * module) and hands the task to the SDK's runTask. It also reports what the
 * task left behind in this thread: active resources above the count it had
 * before the task, and when the cancel arrived.
 */
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { EbmError, toErrorRecord } from '../errors/ebm-error';
import type { TaskRequest, TaskResult } from '../protocol/messages';
import { runTask } from '../runtime/run-task';
import { findTranslatorExport } from '../translator/translator';
import { findLayerProviderExport } from '../layers/layer-provider';
import type { TaskPlugin } from '../runtime/run-task';
import { activeResourceCounts, resourcesAbove } from './resources';

/** What the harness sends: one task per worker. */
export interface HarnessWorkerInput {
  readonly request: TaskRequest;
  readonly entryPath: string;
  readonly pluginId: string;
  /** What the entry module must export (default: a translator). */
  readonly kind?: 'translator' | 'layer-provider';
}

/** What the worker answers. Times are wall-clock milliseconds (comparable across threads). */
export interface HarnessWorkerOutput {
  readonly result: TaskResult;
  readonly cancelledAt?: number;
  readonly endedAt: number;
  readonly resourcesLeft: Readonly<Record<string, number>>;
}

/** Lets pending close callbacks of a cancelled task run before resources are counted. */
const SETTLE_MS = 50;

async function loadPlugin(entryPath: string, pluginId: string, kind: HarnessWorkerInput['kind']): Promise<TaskPlugin> {
  const pluginRequire = createRequire(entryPath);
  try {
    pluginRequire('reflect-metadata'); // as ebm's bootstrap does, for plugins that use decorators
  } catch {
    // the plugin cannot see reflect-metadata, so it does not use it
  }
  let mod: unknown;
  try {
    mod = pluginRequire(entryPath);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_REQUIRE_ESM') throw err;
    mod = await import(pathToFileURL(entryPath).href);
  }
  if (kind === 'layer-provider') {
    const provider = findLayerProviderExport(mod);
    if (provider === undefined) {
      throw new EbmError('E_PLUGIN_LOAD', `plugin ${pluginId} (${entryPath}) exports no layer provider: export one built with defineLayerProvider as "default" or "layerProvider"`, { plugin: pluginId, op: 'load' });
    }
    return provider;
  }
  const translator = findTranslatorExport(mod);
  if (translator === undefined) {
    throw new EbmError('E_PLUGIN_LOAD', `plugin ${pluginId} (${entryPath}) exports no translator: export one built with defineTranslator as "default" or "translator"`, { plugin: pluginId, op: 'load' });
  }
  return translator;
}

async function runOne(input: HarnessWorkerInput): Promise<HarnessWorkerOutput> {
  const before = activeResourceCounts();
  let cancelledAt: number | undefined;
  input.request.port.on('message', (message: { t?: unknown }) => {
    if (message?.t === 'cancel' && cancelledAt === undefined) cancelledAt = Date.now();
  });
  let result: TaskResult;
  try {
    const plugin = await loadPlugin(input.entryPath, input.pluginId, input.kind);
    result = await runTask(input.request, plugin, input.pluginId);
  } catch (err) {
    input.request.port.close();
    const cause = toErrorRecord(err, 'E_PLUGIN_LOAD');
    result = { ok: false, error: { ...cause, code: cause.code === 'E_INTERNAL' ? 'E_PLUGIN_LOAD' : cause.code, plugin: input.pluginId, op: 'load' } };
  }
  const endedAt = Date.now();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return { result, ...(cancelledAt !== undefined ? { cancelledAt } : {}), endedAt, resourcesLeft: resourcesAbove(before, activeResourceCounts()) };
}

parentPort?.once('message', (input: HarnessWorkerInput) => {
  void runOne(input).then((output) => parentPort?.postMessage(output));
});
