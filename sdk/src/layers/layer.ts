import type { JsonValue } from '../entry/entry';

/**
 * The layer-provider contract, version 1: plain data only (it crosses a
 * worker boundary by structured clone, and later a network connection to a
 * backup agent), so every type here is made of strings, numbers, booleans,
 * arrays and plain objects.
 *
 * Versioning: `contractVersion` is the version of these shapes. A new
 * optional field does not change it; a new required field, a changed meaning
 * or a new method does (and the host adapts older providers where it can).
 */
export const LAYER_CONTRACT_VERSION = 1;

/**
 * What a layer is for. 'os', 'apps' and 'user-data' are the virtual layers of
 * an endpoint (seed 000); 'base' is a shared, usually immutable image layer
 * (seed 001, a container image layer); 'upper' is the writable top of a
 * stack (an overlayfs upperdir, a container's read-write layer).
 */
export const LAYER_KINDS = ['os', 'apps', 'user-data', 'base', 'upper'] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

/** How the source's layers are stored; a provider names the layout it found. */
export const LAYER_LAYOUTS = ['overlayfs', 'overlay2', 'layer-map'] as const;
export type LayerLayout = (typeof LAYER_LAYOUTS)[number];

/**
 * A content digest, "algorithm:hex" as in OCI (e.g. 'sha256:…' for a Docker
 * diffID). The algorithm part may carry a qualifier ('ebmtree+sha256:…') when
 * the digest is not of a tar stream.
 */
export const LAYER_DIGEST_PATTERN = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-f0-9]{32,128}$/;

/** One layer of a source. */
export interface LayerInfo {
  /**
   * Stable id of the layer within the source: equal on every discovery of an
   * unchanged source, and cheap to resolve (files/changes requests name a
   * layer by it without a new discovery). Identity across hosts is the
   * `digest`; where the layout has a host-independent id (a Docker chainID)
   * use it here too.
   */
  readonly id: string;
  readonly kind: LayerKind;
  /** For people: 'image layer 2 of 4', 'container', 'os'. */
  readonly name: string;
  /** Position in the stack: 0 is the bottom, each layer above has the next integer. */
  readonly order: number;
  /** The layer does not change while sources use it (an image layer, an overlay lowerdir, a base image). */
  readonly immutable: boolean;
  /** Required when `immutable`: the same content gives the same digest on every host. */
  readonly digest?: string;
  /** Data bytes the layer itself holds (regular files' sizes; a metacopy file holds none). */
  readonly bytes: number;
  /** Non-directory entries the layer holds (files, symlinks, devices), deletion markers not counted. */
  readonly files: number;
  /**
   * The absolute directory that holds the layer's own files, when the layer is
   * a directory: the entry a change or file names with `path` lies at
   * `root/path`. Absent when the layer has no directory of its own.
   */
  readonly root?: string;
}

/** The answer to a discovery request. */
export interface LayerReport {
  readonly contractVersion: number;
  /** The source as the provider understood it (normalised: absolute paths). */
  readonly source: string;
  readonly layout: LayerLayout;
  /** Bottom first: `layers[i].order === i`. Never empty. */
  readonly layers: readonly LayerInfo[];
  /** Provider facts worth recording (mount options, image ids); small. */
  readonly meta?: { readonly [key: string]: JsonValue };
}

/** The type of an entry a layer holds. */
export type LayerEntryType = 'file' | 'dir' | 'symlink' | 'other';

/** One entry that belongs to a layer (what a files request yields). */
export interface LayerFile {
  /** Source-relative POSIX path without leading '/', e.g. 'etc/hosts'. */
  readonly path: string;
  readonly type: LayerEntryType;
  /** Data bytes this layer holds for the entry (0 for directories and metacopy files). */
  readonly size: number;
}

/**
 * How an entry of a layer differs from the merged view of the layers below it:
 * - 'added': the path does not exist below;
 * - 'modified': it exists below and this layer replaces it (data, metadata or type);
 * - 'deleted': this layer removes the path and everything under it (a whiteout);
 * - 'opaque-dir': this layer's directory hides everything below it at that path
 *   (its own children follow as further changes);
 * - 'metacopy': this layer holds the file's metadata only; its data is the
 *   file at `dataFrom` (never store such a file's bytes from this layer: they
 *   read as zeros or nothing);
 * - 'redirect': this directory continues the lower directory `lowerPath`
 *   (a rename with redirect_dir): its lower content is what `lowerPath` holds
 *   below this layer, not what its own path holds.
 */
export type LayerChangeKind = 'added' | 'modified' | 'deleted' | 'opaque-dir' | 'metacopy' | 'redirect';
export const LAYER_CHANGE_KINDS: readonly LayerChangeKind[] = ['added', 'modified', 'deleted', 'opaque-dir', 'metacopy', 'redirect'];

export interface LayerChange {
  /** Source-relative POSIX path, e.g. 'usr/bin/tool'. */
  readonly path: string;
  readonly change: LayerChangeKind;
  /** The entry's type in this layer (absent for 'deleted'). */
  readonly type?: LayerEntryType;
  /** 'redirect' (required) and a renamed 'metacopy' file: the source-relative path below this layer it continues. */
  readonly lowerPath?: string;
  /** 'metacopy' (required): the layer (by id, below this one) and the path inside that layer's root holding the data. */
  readonly dataFrom?: { readonly layer: string; readonly path: string };
}

/**
 * Changes and files cross the boundary in batches (plain arrays), so a tree
 * of millions of entries never has to be held, or sent, as one value.
 * Batches are in depth-first pre-order across the whole sequence: a
 * directory's change comes before any change below it.
 */
export type LayerBatch<T> = readonly T[];
