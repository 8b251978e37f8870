import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EbmError } from '@ebm/sdk';
import type { Backend, Handle } from '../backend/backend';
import { describeBackendConformance } from '../backend/backend-conformance';
import { LocalBackend } from '../backend/local-backend';
import { MemoryBackend } from '../backend/memory-backend';
import { readIntoFunction } from './backend-capabilities';
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

describe('ReadIntoCapable through the mover', () => {
  const FILE: Handle = { type: 'data', name: 'ab12' };
  let dir: string;
  let local: LocalBackend;
  beforeEach(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-mover-into-'));
    local = new LocalBackend(path.join(dir, 'repo'));
    await local.create();
    await local.save(FILE, Buffer.from('0123456789'));
  });
  afterEach(() => fsp.rm(dir, { recursive: true, force: true }));

  it('is offered through every wrapper over a backend that has it, and only then', async () => {
    for (const [name, wrap] of wrappers) {
      const target = Buffer.alloc(3);
      await readIntoFunction(wrap(local))?.(FILE, 4, target);
      expect(`${name}: ${target.toString()}`).toBe(`${name}: 456`);
      expect(readIntoFunction(wrap(new MemoryBackend()))).toBeUndefined();
    }
  });

  it('retries a failed read and counts the bytes read, as for load', async () => {
    let failures = 1;
    const flaky = Object.assign(Object.create(local) as LocalBackend, {
      loadInto: async (handle: Handle, offset: number, target: Uint8Array): Promise<void> => {
        if (failures-- > 0) throw new EbmError('E_STORAGE_IO', 'i/o error reading data/ab12', { retryable: true });
        return local.loadInto(handle, offset, target);
      },
    });
    const mover = createDataMover(flaky, { checkContentNames: false, retry: { attempts: 3, backoffMs: 1 } });
    const target = Buffer.alloc(4);
    await readIntoFunction(mover)!(FILE, 2, target);
    expect(target.toString()).toBe('2345');
    expect(failures).toBe(-1); // failed once, then read
    expect(mover.metrics.bytesLoaded).toBe(4);
  });
});
