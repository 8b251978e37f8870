import * as os from 'node:os';
import * as path from 'node:path';
import type { LayerChange, LayerDiscoverContext, OptionValue, Warning } from '@ebm/sdk';
import provider from '../index';

/**
 * Where tests keep the provider's digest cache (option `digest-cache`): under
 * the temporary directory, not the user's ~/.cache. One per test process.
 */
export const TEST_DIGEST_CACHE = path.join(os.tmpdir(), `ebm-test-layer-digests-${process.pid}`);

/** A plain operation context for direct calls in tests (the conformance test goes through LayerProviderTester instead). */
export function ctx(source: string, options: Record<string, OptionValue> = {}, warnings: Warning[] = []): LayerDiscoverContext {
  return {
    source,
    options: Object.freeze({ 'digest-cache': TEST_DIGEST_CACHE, ...options }),
    signal: new AbortController().signal,
    progress: { update() {} },
    log: { debug() {}, info() {}, warn() {}, error() {} },
    warn: (w) => warnings.push(w),
  };
}

export async function changesOf(source: string, layer: string, options: Record<string, OptionValue> = {}): Promise<LayerChange[]> {
  const out: LayerChange[] = [];
  for await (const batch of provider.changes({ ...ctx(source, options), layer })) out.push(...batch);
  return out;
}
