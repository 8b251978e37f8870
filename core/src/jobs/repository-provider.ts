import type { Repository } from '../repository/repository';

/**
 * Opens the repositories the runtime knows by name (from the configuration).
 * Implementations may cache open repositories; `open` may be called for
 * every job. Unknown name: E_USAGE naming it.
 */
export interface RepositoryProvider {
  open(name: string): Promise<Repository>;
}
