import 'reflect-metadata';
import { container as rootContainer, DependencyContainer, Lifecycle } from 'tsyringe';
import { HOST_CONFIG, HostConfig, resolveHostConfig } from './plugin-host/host-config';
import { PluginRegistry } from './plugin-host/plugin-registry';
import type { DiscoveryOptions } from './plugin-host/discovery';
import { PluginHost } from './plugin-host/plugin-host';
import { HostEvents } from './events/host-events';
import { BackupService } from './backup/backup-service';
import { RestoreService } from './restore/restore-service';

export interface ContainerOptions {
  readonly hostConfig?: Partial<HostConfig>;
  readonly discovery?: DiscoveryOptions;
}

/**
 * Wires the core's services. One child container per host process (or per
 * test), so two hosts in one process never share a plugin pool by accident.
 */
export function createContainer(options: ContainerOptions = {}): DependencyContainer {
  const c = rootContainer.createChildContainer();
  c.register(HOST_CONFIG, { useValue: resolveHostConfig(options.hostConfig) });
  c.register(PluginRegistry, { useValue: PluginRegistry.discover(options.discovery) });
  c.register(HostEvents, { useClass: HostEvents }, { lifecycle: Lifecycle.ContainerScoped });
  c.register(PluginHost, { useClass: PluginHost }, { lifecycle: Lifecycle.ContainerScoped });
  c.register(BackupService, { useClass: BackupService }, { lifecycle: Lifecycle.ContainerScoped });
  c.register(RestoreService, { useClass: RestoreService }, { lifecycle: Lifecycle.ContainerScoped });
  return c;
}
