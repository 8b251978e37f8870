import { summaryOf } from './cli';
import type { EbmRun } from './cli';

/** One layer of a layered backup's `--json` summary line. */
export interface LayerLine { id: string; kind: string; action: string; snapshot: string | null; parent?: string; files: number; filesRead: number; bytesRead: number; bytesAdded: number; dataset: string }

/** The summary's layer `id`; throws naming the layers there are when it is missing. */
export function layerOf(run: EbmRun, id: string): LayerLine {
  const found = (summaryOf(run).layers as LayerLine[]).find((l) => l.id === id);
  if (!found) throw new Error(`no layer ${id} in ${JSON.stringify(summaryOf(run).layers)}`);
  return found;
}
