/**
 * @ebm/sdk — the public entry of everything a plugin author (and the host) imports.
 * This is the package's one export list: nothing else is reachable from outside.
 */

// Errors: one catalogue, plain records across threads.
export { ERROR_CATALOGUE, isErrorCode } from './errors/catalogue';
export type { ErrorCode, ErrorSpec } from './errors/catalogue';
export { EbmError, isEbmError, toErrorRecord, throwIfCancelled } from './errors/ebm-error';
export type { ErrorRecord, EbmErrorOptions } from './errors/ebm-error';

// The normalized entry model and its deterministic serialisation.
export { ENTRY_KINDS } from './entry/entry';
export type { EntryKind, BlobId, JsonValue, EntryMetadata, Xattr, TreeEntry, TreeDocument, DirTally } from './entry/entry';
export { encodeTree, decodeTree, assertSafeName, compareNames, canonicalJson } from './entry/tree-codec';

// Manifest.
export { PLUGIN_API_VERSION, KNOWN_CAPABILITIES } from './manifest/manifest';
export type { PluginKind, Capability, OptionType, OptionValue, OptionSpec, ResourceNeeds, PluginManifest, PluginDescriptor } from './manifest/manifest';
export { validateManifest } from './manifest/validate-manifest';

// The translator contract.
export { defineTranslator, findTranslatorExport, findDiscovererExport } from './translator/translator';
export type { Translator, Discoverer } from './translator/translator';
export type {
  ProgressUpdate, ProgressReporter, Logger, Warning, OperationContext, StoredContent, ContentSource,
  TreeWriter, PreviousSnapshot, BackupContext, RestoreItem, SnapshotInfo, RestoreContext, BackupOutcome, RestoreOutcome,
  DiscoverContext, DiscoveryReport, ChangedPaths, ReadContentOptions,
} from './translator/context';

// The layer-provider contract (docs/layers.md).
export { LAYER_CONTRACT_VERSION, LAYER_KINDS, LAYER_LAYOUTS, LAYER_DIGEST_PATTERN, LAYER_CHANGE_KINDS } from './layers/layer';
export type { LayerKind, LayerLayout, LayerInfo, LayerReport, LayerEntryType, LayerFile, LayerChangeKind, LayerChange, LayerBatch } from './layers/layer';
export { defineLayerProvider, findLayerProviderExport } from './layers/layer-provider';
export type { LayerProvider, LayerDiscoverContext, LayerQueryContext } from './layers/layer-provider';
export { validateLayerReport, validateLayerBatch } from './layers/validate-layer-report';
export { applyLayerChanges } from './layers/apply-changes';

// Content addressing.
export { computeBlobId, BLOB_ID_PATTERN } from './chunker/blob-id';
export { DEFAULT_CHUNKER_SIZES } from './chunker/chunker-params';
export type { ChunkerParams } from './chunker/chunker-params';

// The host ↔ plugin protocol.
export { PROTOCOL_VERSION } from './protocol/messages';
export type * from './protocol/messages';

// Content-defined chunking (FastCDC, keyed gear table).
export { Chunker, validateChunkerParams } from './chunker/fastcdc';
export { createGearTable, GEAR_TABLE_LABEL } from './chunker/gear-table';

// Paths: keep every restored entry inside the target.
export { resolveInside, splitSafePath } from './paths/safe-path';

// The worker-side runtime: runs one translator task over the host protocol.
export { runTask } from './runtime/run-task';
export type { RunTaskOptions, TaskPlugin } from './runtime/run-task';
export type { BlobEncoder } from './runtime/blob-shipper';
export { decodePutBlobs, encodePutBlobs } from './runtime/put-blobs-frame';
export type { FramedBlob } from './runtime/put-blobs-frame';
export { BlobLoans, LOAN_RING_BYTES } from './runtime/blob-loans';
export { dropIdleRings } from './runtime/shared-ring';

// An in-memory host for tests (plugin test suites, the conformance harness).
export { createMemoryRepository, MEMORY_HOST_WINDOW_BYTES } from './runtime/memory-host';
export type {
  MemoryRepository, MemoryRepositoryOptions, MemoryTaskControls, MemoryBackupRequest, MemoryRestoreRequest, MemoryTaskOutcome,
  HostEvents, HostCounters, TaskRunner,
} from './runtime/memory-host';
