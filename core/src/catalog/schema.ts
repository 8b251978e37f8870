import type { Database } from 'better-sqlite3';
import { DISCOVERIES_SQL } from './discoveries';

/**
 * The catalog's SQLite schema. The catalog is a cache: everything in it is
 * derived from the repository, so a schema change bumps SCHEMA_VERSION
 * (stored in `PRAGMA user_version`) and an old file is simply rebuilt.
 *
 * Design: trees are deduplicated in the repository, and so they are here.
 * `entries` holds the children of each distinct TREE (keyed by the tree's
 * blob id), and a snapshot only points at its root tree. A hundred snapshots
 * of the same 100k-file tree therefore store 100k entry rows once, plus one
 * row per snapshot; an incremental snapshot adds only the trees it rewrote
 * (the changed directories and their ancestors). Names are interned in
 * `names` (one row per distinct name), so `find` scans distinct names, not
 * entries, and then walks up from the matching trees to the snapshots.
 *
 * Paths are never stored: a directory listing resolves the path from the
 * root one component at a time (primary-key lookups), and find rebuilds the
 * paths of its hits by walking `entries.subtree` upward (see find.ts).
 *
 * Version 2 added the `discoveries` table (discoveries.ts).
 */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE repositories (
  id        INTEGER PRIMARY KEY,
  repo_id   TEXT NOT NULL UNIQUE,   -- the repository config's random id
  location  TEXT NOT NULL,
  synced_at TEXT
);

-- One row per distinct tree blob whose entries are all in the catalog.
-- Invariant (kept by inserting children before parents, in one transaction
-- per batch): if a tree is here, every tree below it is here too.
CREATE TABLE trees (
  id      INTEGER PRIMARY KEY,
  blob_id TEXT NOT NULL UNIQUE,
  entries INTEGER NOT NULL
);

CREATE TABLE names (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE          -- BINARY collation: GLOB 'abc*' uses this index
);

CREATE TABLE entries (
  tree        INTEGER NOT NULL,       -- trees.id of the directory holding the entry
  pos         INTEGER NOT NULL,       -- index in the tree blob (names in UTF-8 byte order)
  name        INTEGER NOT NULL,       -- names.id
  kind        TEXT NOT NULL,
  size        INTEGER,
  mode        INTEGER,
  uid         INTEGER,
  gid         INTEGER,
  user        TEXT,
  grp         TEXT,
  mtime_ns    TEXT,
  fingerprint TEXT,                   -- files: sha256 of the content id list; dirs: the subtree id
  subtree     INTEGER,                -- dirs: trees.id of the subtree
  target      TEXT,                   -- symlink target
  link_to     TEXT,                   -- hardlink: path of the link group's first entry
  layer       TEXT,                   -- layer the entry belongs to (layer providers)
  PRIMARY KEY (tree, pos)
) WITHOUT ROWID;
CREATE INDEX entries_by_name ON entries (name, tree);
CREATE INDEX entries_by_subtree ON entries (subtree) WHERE subtree IS NOT NULL;   -- walking up (find)
CREATE INDEX entries_dirs ON entries (tree, subtree, name) WHERE subtree IS NOT NULL; -- walking down (find)

CREATE TABLE snapshots (
  id                 INTEGER PRIMARY KEY,
  repository         INTEGER NOT NULL REFERENCES repositories (id),
  snapshot_id        TEXT NOT NULL UNIQUE,
  dataset            TEXT NOT NULL,
  host               TEXT NOT NULL,
  username           TEXT NOT NULL,
  time               TEXT NOT NULL,   -- as stored in the snapshot
  time_ms            INTEGER NOT NULL, -- the same, as milliseconds since the epoch (for ordering)
  translator         TEXT NOT NULL,
  translator_version TEXT NOT NULL,
  source             TEXT NOT NULL,
  tags               TEXT NOT NULL,   -- JSON array
  parent             TEXT,
  root_tree          INTEGER NOT NULL REFERENCES trees (id),
  summary            TEXT NOT NULL    -- JSON of the snapshot summary
);
CREATE INDEX snapshots_by_root ON snapshots (root_tree);
CREATE INDEX snapshots_by_dataset_time ON snapshots (dataset, time_ms);

-- Per-snapshot problems (the snapshot's warnings): the same tree can be
-- clean in one snapshot and have an unreadable file in another.
CREATE TABLE entry_errors (
  snapshot INTEGER NOT NULL REFERENCES snapshots (id),
  path     TEXT NOT NULL,
  code     TEXT NOT NULL,
  message  TEXT NOT NULL
);
CREATE INDEX entry_errors_by_snapshot ON entry_errors (snapshot, path);
`;

/** Creates the schema in an empty database and stamps its version. */
export function createSchema(db: Database): void {
  db.transaction(() => {
    db.exec(SCHEMA_SQL);
    db.exec(DISCOVERIES_SQL);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
