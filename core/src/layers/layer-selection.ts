import { EbmError, LAYER_KINDS } from '@ebm/sdk';
import type { LayerInfo } from '@ebm/sdk';

/**
 * Which layers `--layers ID|KIND,…` selects: each word names a layer id or a
 * layer kind (all layers of that kind). No words: every layer. A word that
 * names nothing in this source is an error (a typo must not silently back
 * up nothing), listing what exists.
 */
export function selectLayers(layers: readonly LayerInfo[], words: readonly string[] | undefined): Set<string> {
  const list = selectionWords(words);
  if (list.length === 0) return new Set(layers.map((l) => l.id));
  const selected = new Set<string>();
  for (const word of list) {
    const byId = layers.filter((l) => l.id === word);
    const byKind = (LAYER_KINDS as readonly string[]).includes(word) ? layers.filter((l) => l.kind === word) : [];
    const hits = byId.length > 0 ? byId : byKind;
    if (hits.length === 0) {
      throw new EbmError('E_USAGE', `--layers ${word}: no layer of this source has that id or kind (layers: ${layers.map((l) => `${l.id} (${l.kind})`).join(', ')})`, { subject: word });
    }
    for (const l of hits) selected.add(l.id);
  }
  return selected;
}

/**
 * Whether one layer, seen before the others (a layer announced during
 * discovery), may be selected by `words`: no words, its id, or its kind. It
 * can only err towards yes (a kind word that is another layer's id), which
 * selectLayers on the whole report then settles.
 */
export function mayBeSelected(layer: Pick<LayerInfo, 'id' | 'kind'>, words: readonly string[] | undefined): boolean {
  const list = selectionWords(words);
  return list.length === 0 || list.includes(layer.id) || ((LAYER_KINDS as readonly string[]).includes(layer.kind) && list.includes(layer.kind));
}

/** The words of `--layers` (comma-separated or repeated), trimmed, empty ones dropped. */
function selectionWords(words: readonly string[] | undefined): string[] {
  return (words ?? []).flatMap((w) => w.split(',')).map((w) => w.trim()).filter((w) => w !== '');
}

/** Finds one layer by id (for restore/ls --layer), or throws naming the ones there are. */
export function findLayer<T extends { readonly id: string; readonly kind: string }>(layers: readonly T[], id: string): T {
  const found = layers.find((l) => l.id === id);
  if (found === undefined) {
    throw new EbmError('E_USAGE', `--layer ${id}: the endpoint snapshot has no such layer (layers: ${layers.map((l) => `${l.id} (${l.kind})`).join(', ')})`, { subject: id });
  }
  return found;
}
