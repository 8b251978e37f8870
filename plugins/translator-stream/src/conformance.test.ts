import * as path from 'node:path';
import { TranslatorTester } from '@ebm/sdk/testing';
import { createPluginHostHarness } from '@ebm/core/testing';
import { FIXTURES, INVALID_SOURCES, streamEquality } from './testing/conformance-fixtures';

/**
 * The stream translator under the SDK's conformance harness, as third-party
 * plugins run it: every case in-process and in a real worker thread that
 * loads dist/index.js, and through ebm's own plugin host and a real
 * repository (createPluginHostHarness). Fixtures and invalid sources: testing/conformance-fixtures.ts.
 */
new TranslatorTester({
  packageDir: path.resolve(__dirname, '..'),
  fixtures: FIXTURES,
  invalidSources: INVALID_SOURCES,
  equal: streamEquality,
  host: () => createPluginHostHarness(),
}).run();
