import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Backend } from '../backend/backend';
import { describeBackendConformance } from '../backend/backend-conformance';
import { LocalBackend } from '../backend/local-backend';
import { MemoryBackend } from '../backend/memory-backend';
import { ChecksummingBackend } from './checksumming-backend';
import { createDataMover } from './data-mover';
import { ChecksumMemoryBackend } from './fault-backend.test-support';
import { LimitingBackend } from './limiting-backend';
import { RetryingBackend } from './retrying-backend';

/**
 * Every wrapper, and the whole mover, is a Backend like any other: the
 * shared suite runs over each, on memory and on a real directory. The suite
 * stores arbitrary bytes under short names in data/ and index/, so the
 * content-name check is off here (it has its own tests).
 */
const wrappers: ReadonlyArray<[string, (inner: Backend) => Backend]> = [
  ['ChecksummingBackend(read-back)', (inner) => new ChecksummingBackend(inner, { checkContentNames: false })],
  ['RetryingBackend', (inner) => new RetryingBackend(inner, { attempts: 3, backoffMs: 1 })],
  ['LimitingBackend(concurrency 2, 1 GiB/s)', (inner) => new LimitingBackend(inner, { concurrency: 2, bytesPerSecond: 1024 ** 3 })],
  ['DataMover', (inner) => createDataMover(inner, { checkContentNames: false, retry: { attempts: 3, backoffMs: 1 }, concurrency: 3, bandwidth: { bytesPerSecond: 1024 ** 3 } })],
];

for (const [name, wrap] of wrappers) {
  describeBackendConformance(`${name} over MemoryBackend`, async () => ({ backend: wrap(new MemoryBackend()), cleanup: async () => undefined }));
  describeBackendConformance(`${name} over LocalBackend`, async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-mover-conf-'));
    return { backend: wrap(new LocalBackend(path.join(dir, 'repo'))), cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
  });
}

describeBackendConformance('DataMover(backend-checksum) over a checksum-reporting backend', async () => ({
  backend: createDataMover(new ChecksumMemoryBackend(), { verify: 'backend-checksum', checkContentNames: false }),
  cleanup: async () => undefined,
}));
