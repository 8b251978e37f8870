/**
 * @ebm/core/testing — ebm's real plugin host and repository for the
 * conformance harness of `@ebm/sdk/testing`. For plugin test files only
 * (declare @ebm/core as a devDependency). See docs/plugins.md.
 */
import 'reflect-metadata';

export { createPluginHostHarness, PluginHostHarness } from './plugin-host-harness';
export type { PluginHostHarnessOptions } from './plugin-host-harness';
export type { RepositoryKind } from './repository-template';
export { createPluginHostLayerRunner, PluginHostLayerRunner } from './plugin-host-layer-runner';
export type { PluginHostLayerRunnerOptions } from './plugin-host-layer-runner';
