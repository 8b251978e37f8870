import type { Database, Statement } from 'better-sqlite3';
import { isErrorCode } from '@ebm/sdk';
import type { TreeEntry } from '@ebm/sdk';
import type { SnapshotRecord } from '../repository/types';
import { entryColumns } from './entry-row';

/** A decoded tree ready to be inserted. */
export interface TreeToIndex {
  readonly blobId: string;
  readonly entries: readonly TreeEntry[];
}

/**
 * The catalog's write side. Every method is one IMMEDIATE transaction (so two
 * processes syncing the same catalog wait for each other through
 * busy_timeout instead of failing on a lock upgrade) and re-checks what it
 * inserts, so concurrent syncs of the same snapshot are harmless. Trees must be
 * inserted children first (a batch may hold a parent and its children if the
 * children come earlier), so that a tree's presence means its whole subtree
 * is present: indexing can then skip any tree it finds, and a crash between
 * two batches leaves only complete subtrees behind.
 */
export class CatalogWriter {
  readonly #db: Database;
  readonly #treeId: Statement<[string], { id: number }>;
  readonly #insertTree: Statement<[string, number]>;
  readonly #nameId: Statement<[string], { id: number }>;
  readonly #insertName: Statement<[string]>;
  readonly #insertEntry: Statement<Record<string, unknown>>;

  constructor(db: Database) {
    this.#db = db;
    this.#treeId = db.prepare('SELECT id FROM trees WHERE blob_id = ?');
    this.#insertTree = db.prepare('INSERT INTO trees (blob_id, entries) VALUES (?, ?)');
    this.#nameId = db.prepare('SELECT id FROM names WHERE name = ?');
    this.#insertName = db.prepare('INSERT INTO names (name) VALUES (?)');
    this.#insertEntry = db.prepare(
      `INSERT INTO entries (tree, pos, name, kind, size, mode, uid, gid, user, grp, mtime_ns, fingerprint, subtree, target, link_to, layer)
       VALUES (@tree, @pos, @name, @kind, @size, @mode, @uid, @gid, @user, @grp, @mtime_ns, @fingerprint, @subtree, @target, @link_to, @layer)`,
    );
  }

  hasTree(blobId: string): boolean {
    return this.#treeId.get(blobId) !== undefined;
  }

  /** Inserts trees (children before parents) in one transaction; trees already present are skipped. */
  insertTrees(trees: readonly TreeToIndex[]): void {
    this.#db.transaction(() => {
      for (const tree of trees) {
        if (this.#treeId.get(tree.blobId)) continue;
        const id = Number(this.#insertTree.run(tree.blobId, tree.entries.length).lastInsertRowid);
        tree.entries.forEach((e, pos) => {
          let subtree: number | null = null;
          if (e.kind === 'dir' && e.subtree) {
            const sub = this.#treeId.get(e.subtree);
            if (!sub) throw new Error(`catalog: subtree ${e.subtree.slice(0, 12)} of tree ${tree.blobId.slice(0, 12)} must be inserted first`);
            subtree = sub.id;
          }
          this.#insertEntry.run({ tree: id, pos, name: this.#name(e.name), subtree, ...entryColumns(e) });
        });
      }
    }).immediate();
  }

  /** Records a repository (by config id) and returns its row id. */
  ensureRepository(repositoryId: string, location: string): number {
    this.#db.prepare('INSERT INTO repositories (repo_id, location) VALUES (?, ?) ON CONFLICT (repo_id) DO UPDATE SET location = excluded.location').run(repositoryId, location);
    return (this.#db.prepare('SELECT id FROM repositories WHERE repo_id = ?').get(repositoryId) as { id: number }).id;
  }

  markSynced(repositoryRow: number, when: Date): void {
    this.#db.prepare('UPDATE repositories SET synced_at = ? WHERE id = ?').run(when.toISOString(), repositoryRow);
  }

  /** Inserts a snapshot whose root tree is already indexed, with its warnings as per-path error codes. */
  insertSnapshot(repositoryRow: number, s: SnapshotRecord): void {
    const root = this.#treeId.get(s.tree);
    if (!root) throw new Error(`catalog: root tree ${s.tree.slice(0, 12)} of snapshot ${s.id.slice(0, 8)} must be indexed first`);
    this.#db.transaction(() => {
      if (this.#db.prepare('SELECT 1 FROM snapshots WHERE snapshot_id = ?').get(s.id)) return;
      const { lastInsertRowid } = this.#db
        .prepare(
          `INSERT INTO snapshots (repository, snapshot_id, dataset, host, username, time, time_ms, translator, translator_version, source, tags, parent, root_tree, summary)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(repositoryRow, s.id, s.dataset, s.host, s.username, s.time, Date.parse(s.time), s.translator.id, s.translator.version, s.source, JSON.stringify(s.tags), s.parent ?? null, root.id, JSON.stringify(s.summary));
      const insertError = this.#db.prepare('INSERT INTO entry_errors (snapshot, path, code, message) VALUES (?, ?, ?, ?)');
      for (const w of s.summary.warnings ?? []) {
        insertError.run(lastInsertRowid, w.path, isErrorCode(w.code) ? w.code : 'E_INTERNAL', w.message);
      }
    }).immediate();
  }

  /**
   * Removes snapshots (by full id) and then every tree, entry and name no
   * remaining snapshot reaches. One transaction.
   */
  removeSnapshots(snapshotIds: readonly string[]): void {
    if (snapshotIds.length === 0) return;
    this.#db.transaction(() => {
      const rowOf = this.#db.prepare('SELECT id FROM snapshots WHERE snapshot_id = ?');
      for (const id of snapshotIds) {
        const row = rowOf.get(id) as { id: number } | undefined;
        if (!row) continue;
        this.#db.prepare('DELETE FROM entry_errors WHERE snapshot = ?').run(row.id);
        this.#db.prepare('DELETE FROM snapshots WHERE id = ?').run(row.id);
      }
      this.#collectGarbage();
    }).immediate();
  }

  /** Deletes trees unreachable from every snapshot root, their entries, and unused names. */
  #collectGarbage(): void {
    this.#db.exec(`
      CREATE TEMP TABLE IF NOT EXISTS live_trees (id INTEGER PRIMARY KEY);
      DELETE FROM live_trees;
      INSERT INTO live_trees (id)
        WITH RECURSIVE live (id) AS (
          SELECT root_tree FROM snapshots
          UNION
          SELECT e.subtree FROM live JOIN entries e ON e.tree = live.id WHERE e.subtree IS NOT NULL
        )
        SELECT id FROM live;
      DELETE FROM entries WHERE tree NOT IN (SELECT id FROM live_trees);
      DELETE FROM trees WHERE id NOT IN (SELECT id FROM live_trees);
      DELETE FROM names WHERE NOT EXISTS (SELECT 1 FROM entries WHERE entries.name = names.id);
      DELETE FROM live_trees;
    `);
  }

  #name(name: string): number {
    const found = this.#nameId.get(name);
    return found ? found.id : Number(this.#insertName.run(name).lastInsertRowid);
  }
}
