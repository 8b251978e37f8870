/**
 * @ebm/layer-overlay/testing — fixtures for tests of layered endpoints, shared
 * by this plugin's tests and the end-to-end tests of the host (test/): real
 * overlay mounts (as root), a Docker-style overlay2 storage root, a machine
 * tree with a layer map. Test code only: nothing here is used by the plugin.
 */
export { mountOverlay, unmount, overlayUnavailable, whiteout, xattrWhiteout, markOpaque, writeTree } from './overlay-mount';
export { buildDockerStorage } from './docker-storage';
export type { DockerStorage } from './docker-storage';
export { buildMachine, MAP } from './machine';
