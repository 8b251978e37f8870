import 'reflect-metadata';
import { EventEmitter } from 'eventemitter3';
import { injectable } from 'tsyringe';
import type { ErrorRecord, JsonValue, ProgressUpdate, TaskOp, Warning } from '@ebm/sdk';

/** What the plugin host reports. Payloads are plain data (safe to log as JSON or send over a socket). */
export interface PluginLoadedEvent {
  readonly pluginId: string;
  readonly version: string;
  /** V8 heap limit of each of the plugin's workers. */
  readonly heapMiB: number;
  readonly maxThreads: number;
}

export interface PluginUnloadedEvent {
  readonly pluginId: string;
  /** 'idle': no job for idleTimeoutMs; 'closed': the host was closed. */
  readonly reason: 'idle' | 'closed';
}

export interface PluginCrashedEvent {
  readonly pluginId: string;
  /** The job that was running, if the worker died during one. */
  readonly jobId?: string;
  /** E_PLUGIN_CRASHED, E_PLUGIN_OUT_OF_MEMORY or E_PLUGIN_TIMEOUT (the worker was terminated). */
  readonly error: ErrorRecord;
}

export interface JobStartedEvent {
  readonly jobId: string;
  readonly pluginId: string;
  readonly op: TaskOp;
}

export interface JobProgressEvent {
  readonly jobId: string;
  readonly pluginId: string;
  readonly progress: ProgressUpdate;
}

export interface JobLogEvent {
  readonly jobId: string;
  readonly pluginId: string;
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: Record<string, JsonValue>;
}

export interface JobWarningEvent {
  readonly jobId: string;
  readonly pluginId: string;
  readonly warning: Warning;
}

export interface JobFinishedEvent {
  readonly jobId: string;
  readonly pluginId: string;
  readonly op: TaskOp;
  readonly ok: boolean;
  /** Present when ok is false. */
  readonly error?: ErrorRecord;
  readonly durationMs: number;
}

export interface HostEventMap {
  'plugin:loaded': [PluginLoadedEvent];
  'plugin:unloaded': [PluginUnloadedEvent];
  'plugin:crashed': [PluginCrashedEvent];
  'job:started': [JobStartedEvent];
  'job:progress': [JobProgressEvent];
  'job:log': [JobLogEvent];
  'job:warning': [JobWarningEvent];
  'job:finished': [JobFinishedEvent];
}

/**
 * The plugin host's event bus. Listeners run synchronously in the host's
 * thread: keep them cheap and do not throw (a listener that throws while a
 * job's messages are served fails that job with E_INTERNAL).
 */
@injectable()
export class HostEvents extends EventEmitter<HostEventMap> {}
