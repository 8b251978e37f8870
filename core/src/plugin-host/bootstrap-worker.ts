// Decorator metadata must exist before any plugin (or the SDK's tsyringe use) is loaded.
import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { EbmError, findDiscovererExport, findLayerProviderExport, findTranslatorExport, runTask, toErrorRecord } from '@ebm/sdk';
import type { BlobEncoder, TaskPlugin, TaskRequest, TaskResult } from '@ebm/sdk';
import { encodeTransient } from '../compression/payload-codec';
import { applyYoungGenerationLimits } from './worker-heap';

// Node resets V8's flags when it starts a worker thread: set again from here, or the host's young generation grows after all.
applyYoungGenerationLimits();

/**
 * The worker module piscina runs for every plugin (host-owned, so that a
 * plugin that fails to load is reported by us: piscina's own loader would
 * swallow the error). Loads the plugin's entry module once per worker, picks
 * its translator and hands the task to the SDK's runTask, which never
 * rejects. This function never rejects either: every failure is a TaskResult.
 */

const loaded = new Map<string, TaskPlugin>();

export default async function runPluginTask(request: TaskRequest): Promise<TaskResult> {
  const pluginId = request.plugin.id;
  let plugin: TaskPlugin;
  try {
    plugin = await loadPlugin(request.plugin.entryPath, pluginId);
  } catch (err) {
    const cause = toErrorRecord(err, 'E_PLUGIN_LOAD');
    const error = cause.code === 'E_PLUGIN_LOAD' && cause.plugin === pluginId ? cause : new EbmError('E_PLUGIN_LOAD', `plugin ${pluginId} could not be loaded from ${request.plugin.entryPath}: ${cause.message}`, { plugin: pluginId, op: 'load', subject: request.plugin.entryPath }).toRecord();
    request.port.close();
    return { ok: false, error: error === cause ? error : { ...error, cause } };
  }
  try {
    return await runTask(request, plugin, pluginId, { encoder: encoderFor(request) });
  } catch (err) {
    // runTask promises never to reject; if it does, report it rather than let piscina call it a crash.
    request.port.close();
    return { ok: false, error: { ...toErrorRecord(err, 'E_INTERNAL'), plugin: pluginId, op: request.job.op } };
  }
}

/** Loads a plugin's entry module into this worker ahead of its first job (PluginHost.prewarm); never rejects. */
export async function preload(request: { readonly id: string; readonly entryPath: string }): Promise<boolean> {
  try {
    await loadPlugin(request.entryPath, request.id);
    return true;
  } catch {
    return false; // the job that follows reports the load failure with its context
  }
}

/**
 * Compression on the worker's core (put-blob codec 1). The SDK's shipper calls
 * it only while the host is behind (a queue of shipped, unacknowledged blobs)
 * and sends plaintext for the host to compress otherwise, so compression goes
 * to whichever side has time: a tree of small files keeps the worker busy
 * (walk, lstat, read, hash) and the host idle, large files the reverse.
 */
function encoderFor(request: TaskRequest): BlobEncoder | undefined {
  const compression = request.job.op === 'backup' ? request.job.compression : undefined;
  if (compression?.algorithm !== 'zstd') return undefined;
  return (plaintext) => encodeTransient(plaintext, compression.level); // a scratch view: the shipper copies it at once
}

/** The plugin's translator, its layer provider (discover, files, changes), or another object that answers discover. */
async function loadPlugin(entryPath: string, pluginId: string): Promise<TaskPlugin> {
  const cached = loaded.get(entryPath);
  if (cached !== undefined) return cached;
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(entryPath);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_REQUIRE_ESM') throw err;
    mod = await import(pathToFileURL(entryPath).href); // an ES module plugin
  }
  const plugin = findTranslatorExport(mod) ?? findLayerProviderExport(mod) ?? findDiscovererExport(mod);
  if (plugin === undefined) {
    throw new EbmError('E_PLUGIN_LOAD', `plugin ${pluginId} (${entryPath}) exports no translator or layer provider: export one built with defineTranslator (or defineLayerProvider) as "default"`, { plugin: pluginId, op: 'load', subject: entryPath });
  }
  loaded.set(entryPath, plugin);
  return plugin;
}
