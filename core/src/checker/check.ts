import { throwIfCancelled } from '@ebm/sdk';
import { BlobStore } from '../repository/blob-store';
import { MasterIndex } from '../repository/master-index';
import type { PackBlob } from '../repository/pack-format';
import type { Repository } from '../repository/repository';
import { listSnapshots } from '../snapshots/snapshot-store';
import { readDataOfPack, selectPacks } from './check-data';
import { checkPackPresence, listPacks, samePackBlobs } from './check-packs';
import type { CheckOptions, CheckProblem, CheckReport } from './check-report';
import { describeError } from './check-report';
import { checkSnapshotTrees } from './check-trees';
import { missingLayerProblems } from '../layers/layer-references';

/** Packs re-read at once with --read-data (each is held in memory whole). */
const READ_DATA_CONCURRENCY = 2;

/**
 * Checks a repository and reports what is damaged; never throws on damage
 * (only on storage failures while listing, or cancellation).
 *
 * Structure: every index file loads; every pack an index names exists with
 * the size the index implies; every snapshot loads; every tree of every
 * snapshot loads and every blob it references is indexed. Packs no index
 * names are listed as unreferenced (crash leftovers; prune removes them).
 *
 * With readData (or a subset): each pack is re-read whole, its sha256 must be
 * its name, its header must agree with the index, and every blob must
 * decrypt, decompress and hash to its id.
 *
 * Run it under a shared (non-exclusive) lock: a concurrent prune would make
 * packs vanish mid-check.
 */
export async function checkRepository(repo: Repository, options: CheckOptions = {}): Promise<CheckReport> {
  const errors: CheckProblem[] = [];
  const report = (p: CheckProblem): void => void errors.push(p);
  const progress = options.onProgress ?? (() => undefined);

  // 1. Index files.
  const indexedPacks = new Map<string, readonly PackBlob[]>();
  let indexFiles = 0;
  const index = await MasterIndex.load(repo, {
    onCorrupt: (id, err) => report({ kind: 'index', subject: id, message: `index file ${id} cannot be loaded: ${describeError(err)}` }),
    onIndexFile: (id, file) => {
      progress({ phase: 'index', done: ++indexFiles });
      for (const pack of file.packs) {
        const known = indexedPacks.get(pack.id);
        if (known === undefined) indexedPacks.set(pack.id, pack.blobs);
        else if (!samePackBlobs(known, pack.blobs)) {
          report({ kind: 'index', subject: id, message: `index file ${id} lists pack ${pack.id} with different blobs than another index file` });
        }
      }
    },
  });
  throwIfCancelled(options.signal, 'check');

  // 2. Pack files.
  const present = await listPacks(repo.backend);
  const unreferencedPacks = checkPackPresence(indexedPacks, present, report);
  progress({ phase: 'packs', done: indexedPacks.size, total: indexedPacks.size });
  throwIfCancelled(options.signal, 'check');

  // 3. Snapshots.
  const { snapshots, failures } = await listSnapshots(repo);
  for (const f of failures) report({ kind: 'snapshot', subject: f.id, message: `snapshot ${f.id} cannot be loaded: ${f.error.message}` });
  // Layered endpoints: every layer snapshot an endpoint snapshot names must exist.
  for (const p of missingLayerProblems(snapshots)) report({ kind: 'snapshot', ...p });
  progress({ phase: 'snapshots', done: snapshots.length + failures.length, total: snapshots.length + failures.length });

  // 4. Trees.
  const store = new BlobStore(repo, index);
  const trees = await checkSnapshotTrees(store, snapshots, report, {
    signal: options.signal,
    onTree: (done) => progress({ phase: 'trees', done }),
  });

  // 5. Data.
  let packsRead = 0;
  let blobsRead = 0;
  if (options.readData === true || options.readDataSubset !== undefined) {
    const toRead = selectPacks([...indexedPacks.keys()].filter((p) => present.has(p)), options.readDataSubset);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < toRead.length) {
        throwIfCancelled(options.signal, 'check');
        const pack = toRead[next++]!;
        const verified = await readDataOfPack(repo, pack, indexedPacks.get(pack)!, report);
        blobsRead += verified; // not `+= await`: that would read blobsRead before the await and lose updates
        progress({ phase: 'read-data', done: ++packsRead, total: toRead.length });
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_DATA_CONCURRENCY, toRead.length) }, worker));
  }

  return {
    ok: errors.length === 0,
    errors,
    unreferencedPacks,
    counts: {
      indexFiles,
      packs: indexedPacks.size,
      blobs: index.size,
      snapshots: snapshots.length + failures.length,
      trees,
      packsRead,
      blobsRead,
    },
  };
}
