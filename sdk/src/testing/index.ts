/**
 * @ebm/sdk/testing — the conformance harness for plugin authors' test files
 * (never imported by a plugin's runtime code). See docs/plugins.md,
 * "Testing a plugin".
 */
export { TranslatorTester } from './translator-tester';
export type { ConformanceCase } from './translator-tester';
export type {
  TranslatorTesterOptions, TranslatorFixture, SourceMutation, InvalidSource, HarnessTimeouts, DescribeFn, ItFn, HookFn,
} from './tester-options';
export { ConformanceFailure } from './conformance-failure';
export { fileEquality, compareDirectories } from './file-equality';
export type { SourceEquality, ExpectedSource, FileEqualityOptions } from './file-equality';
export { CAPABILITY_CHECKS, capabilityCheck } from './capabilities';
export type { CapabilityCheck } from './capabilities';

// Hosts: where worker runs happen and which repository is used.
export { MODES } from './harness-host';
export type {
  HarnessHost, HarnessRepository, HarnessOutcome, HarnessBackupRequest, HarnessRestoreRequest, HarnessTaskControls, Mode, PluginUnderTest,
} from './harness-host';
export { createWorkerHarnessHost } from './worker-host';
export type { WorkerHarnessHostOptions } from './worker-host';
export { readPluginPackage, loadPluginUnderTest } from './plugin-under-test';

// Helpers for a plugin's own tests on the in-memory repository.
export { backupOk, restoreOk, failure } from './task-outcomes';
export type { BackupOk } from './task-outcomes';

// Layer providers: the conformance harness of the layer contract (docs/layers.md).
export { LayerProviderTester, loadLayerPlugin } from './layer-provider-tester';
export type { LayerFixture, LayerFixtureBuild, ExpectedLayer, ExpectedChange, InvalidLayerSource, LayerTesterTimeouts, LayerProviderTesterOptions } from './layer-tester-options';
export { createInProcessLayerRunner } from './layer-runner';
export type { LayerRunner, LayerRequest, LayerRunResult, LayerCancelPoint, LayerPluginUnderTest } from './layer-runner';
export { createWorkerLayerRunner } from './layer-worker-runner';
export type { WorkerLayerRunnerOptions } from './layer-worker-runner';
export { localCopy } from './local-copy';
export { mergedViewOf, readTree, viewDifferences } from './layer-merged-view';
export type { ViewEntry } from './layer-merged-view';
