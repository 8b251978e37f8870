import { validateLayerBatch } from '@ebm/sdk';
import type { LayerChange, LayerFile, LayerQueryJobSpec } from '@ebm/sdk';

/**
 * Receives each batch of a layer query, in order. The worker gets its ack
 * when the returned promise resolves (backpressure: it keeps at most the
 * job's windowBatches unacknowledged, and the stall clock does not run while
 * the host holds one); a rejection goes back to the worker, whose task then
 * fails with that error.
 */
export type BatchConsumer = (batch: readonly (LayerFile | LayerChange)[]) => Promise<void> | void;

/**
 * Wraps a consumer so that, when the job carries a report, every batch is
 * validated against it first (validateLayerBatch: E_PLUGIN_FAILED naming the
 * field). The SDK's worker side validates too, but the host trusts no
 * plugin: a worker that bypasses the SDK must not hand the consumer a
 * metacopy pointing upwards or a path with '..'.
 */
export function batchReceiver(job: LayerQueryJobSpec, pluginId: string, deliver: BatchConsumer): BatchConsumer {
  const report = job.report;
  if (report === undefined) return deliver;
  return (items) => {
    if (job.op === 'layer-files') validateLayerBatch(items, 'files', report, job.layer, pluginId);
    else validateLayerBatch(items, 'changes', report, job.layer, pluginId);
    return deliver(items);
  };
}
