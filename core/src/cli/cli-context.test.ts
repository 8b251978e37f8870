import { CliContext } from './cli-context';
import { HOST_CONFIG } from '../plugin-host/host-config';
import type { HostConfig } from '../plugin-host/host-config';
import { DEFAULT_WORKER_OLD_SPACE_FLOOR_MIB, RESTORE_WORKER_GC_FLOOR_MIB } from '../plugin-host/worker-heap';

describe('CliContext.configureHost', () => {
  const contexts: CliContext[] = [];
  const newContext = (): CliContext => {
    const ctx = new CliContext({ quiet: true });
    contexts.push(ctx);
    return ctx;
  };
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
  });

  it("tunes the plugin host for this process's one operation, and only before the host exists", () => {
    const plain = newContext();
    expect(plain.container.resolve<HostConfig>(HOST_CONFIG).workerOldSpaceFloorMiB).toBe(DEFAULT_WORKER_OLD_SPACE_FLOOR_MIB);

    const restoring = newContext();
    restoring.configureHost({ workerOldSpaceFloorMiB: RESTORE_WORKER_GC_FLOOR_MIB });
    expect(restoring.container.resolve<HostConfig>(HOST_CONFIG).workerOldSpaceFloorMiB).toBe(RESTORE_WORKER_GC_FLOOR_MIB);
    expect(() => restoring.configureHost({ workerOldSpaceFloorMiB: 0 })).toThrow(/after the plugin host was created/);
  });
});
