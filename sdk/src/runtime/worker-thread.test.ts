import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { decodeTree } from '../entry/tree-codec';
import type { BackupTaskResult, TaskRequest, TaskResult } from '../protocol/messages';
import { createMemoryRepository, TaskRunner } from './memory-host';

/**
 * The same conversation with runTask inside a real worker thread: the port
 * is transferred, blob bytes come back as views of the worker's shared ring
 * (memory both threads see), and the result is structured-cloned by postMessage.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { runTask } = require(workerData.runTask);
const translator = {
  async backup(ctx) {
    await ctx.tree.add('dir', { kind: 'dir' });
    for (let i = 0; i < 3; i++) {
      const data = new Uint8Array(70000).map((_, j) => (j * (i + 7)) % 251);
      const stored = await ctx.tree.writeContent([data.subarray(0, 30000), data.subarray(30000)]);
      await ctx.tree.add('dir/f' + i, { kind: 'file', ...stored });
    }
    ctx.progress.update({ files: 3 });
  },
  async restore() { throw new Error('restore is not used here'); },
};
parentPort.once('message', async (request) => parentPort.postMessage(await runTask(request, translator, 'in-worker')));
`;

function workerRunner(): TaskRunner {
  return (request: TaskRequest) =>
    new Promise<TaskResult>((resolve, reject) => {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { runTask: path.join(__dirname, 'run-task.js') } });
      worker.once('message', (result: TaskResult) => {
        resolve(result);
        void worker.terminate();
      });
      worker.once('error', reject);
      worker.postMessage(request, [request.port]);
    });
}

describe('runTask in a worker thread', () => {
  it('backs up through a transferred port and returns a plain result', async () => {
    const repo = createMemoryRepository({ chunker: { minSize: 1024, avgSize: 4096, maxSize: 16384 } });
    const outcome = await repo.backup(workerRunner(), { source: 'worker' });
    expect(outcome.result.ok).toBe(true);
    const result = (outcome.result as { result: BackupTaskResult }).result;
    expect(result.stats).toMatchObject({ files: 3, dirs: 1, filesRead: 3, bytesRead: 210_000 });
    expect(outcome.stats.dataPuts).toBeGreaterThan(10);
    expect(outcome.stats.sharedPutBytes).toBe(outcome.stats.putBytes); // shared across threads, not copied
    expect(outcome.events.progress).toEqual([{ files: 3 }]);
    const dir = decodeTree(repo.get(decodeTree(repo.get(result.tree)!).entries[0]!.subtree!)!);
    expect(dir.entries.map((e) => [e.name, e.size])).toEqual([['f0', 70000], ['f1', 70000], ['f2', 70000]]);
    const first = Buffer.concat(dir.entries[0]!.content!.map((id) => repo.get(id)!));
    expect(first.equals(Buffer.from(new Uint8Array(70000).map((_, j) => (j * 7) % 251)))).toBe(true);
  });
});
