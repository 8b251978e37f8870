import { randomUUID } from 'node:crypto';
import { inject, injectable } from 'tsyringe';
import { EbmError } from '@ebm/sdk';
import type { LayerInfo, OptionValue, ProgressUpdate, Warning } from '@ebm/sdk';
import type { DiscoveryRecord } from '../catalog/discoveries';
import type { BlobServer } from '../plugin-host/blob-server';
import { PluginHost } from '../plugin-host/plugin-host';
import { PluginRegistry } from '../plugin-host/plugin-registry';

export interface DiscoverRequest {
  /** A plugin id: a translator that implements discover, or a layer provider. */
  readonly plugin: string;
  readonly source: string;
  readonly options?: Readonly<Record<string, OptionValue>>;
  readonly jobId?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ProgressUpdate) => void;
  /** A layer the provider announced before its report (unvalidated: compare it with the report). */
  readonly onLayerReady?: (layer: LayerInfo) => void;
}

/** What the catalog records of a discovery (see catalog/discoveries.ts), plus the plugin's warnings. */
export interface DiscoverResult extends DiscoveryRecord {
  readonly warnings: readonly Warning[];
  /** The layers a layer provider announced before its report (unvalidated), all of them, in order. */
  readonly announced: readonly LayerInfo[];
}

/**
 * Runs a plugin's discovery — a read-only look at a source: a database's
 * tables and sizes, an endpoint's layers — in the plugin's worker thread like
 * any job (same crash, memory, stall and cancellation handling). Stores
 * nothing in a repository; the CLI records the result in the catalog.
 */
@injectable()
export class DiscoverService {
  constructor(
    @inject(PluginHost) private readonly host: PluginHost,
    @inject(PluginRegistry) private readonly registry: PluginRegistry,
  ) {}

  async discover(request: DiscoverRequest): Promise<DiscoverResult> {
    const descriptor = this.registry.get(request.plugin);
    const result = await this.host.run(
      descriptor,
      { op: 'discover', source: request.source, options: request.options ?? {} },
      NO_BLOBS,
      {
        jobId: request.jobId ?? randomUUID(),
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
        ...(request.onLayerReady ? { onLayerReady: request.onLayerReady } : {}),
      },
    );
    return {
      plugin: descriptor.manifest.id,
      pluginVersion: descriptor.version,
      pluginKind: descriptor.manifest.kind,
      source: request.source,
      time: new Date().toISOString(),
      report: result.report,
      // Kept for a layer provider only: its layers are browsed later by asking it again, the same way.
      ...(descriptor.manifest.kind === 'layer-provider' ? { options: request.options ?? {} } : {}),
      warnings: result.warnings,
      announced: Array.isArray(result.announced) ? result.announced : [],
    };
  }
}

/** A discovery reads and writes no blobs: any request for one is a protocol violation. */
const refuse = (): Promise<never> => Promise.reject(new EbmError('E_PROTOCOL', 'a discovery task asked for repository blobs; discovery is read-only and has no repository'));
const NO_BLOBS: BlobServer = { missing: refuse, put: refuse, loadTree: refuse, loadBlob: refuse };
