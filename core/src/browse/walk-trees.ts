import { EbmError } from '@ebm/sdk';

/**
 * Visits every tree reachable from `roots` exactly once, a few at a time.
 * `visit` loads one tree and returns the subtree ids it references; an error
 * it throws stops the walk and rejects (callers that want to carry on catch
 * inside `visit`). Depth-first, so the queue stays small on wide trees.
 */
export async function walkTrees(
  roots: Iterable<string>,
  visit: (treeId: string) => Promise<Iterable<string>>,
  options: { readonly concurrency?: number; readonly signal?: AbortSignal } = {},
): Promise<{ readonly trees: number }> {
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const seen = new Set<string>();
  const queue: string[] = [];
  const enqueue = (id: string): void => {
    if (seen.has(id)) return;
    seen.add(id);
    queue.push(id);
  };
  for (const root of roots) enqueue(root);
  let active = 0;
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    const pump = (): void => {
      if (failed) return;
      if (options.signal?.aborted) {
        failed = true;
        reject(new EbmError('E_CANCELLED', 'the tree walk was cancelled'));
        return;
      }
      if (queue.length === 0 && active === 0) {
        resolve();
        return;
      }
      while (active < concurrency && queue.length > 0) {
        const id = queue.pop()!;
        active++;
        visit(id).then(
          (children) => {
            active--;
            for (const child of children) enqueue(child);
            pump();
          },
          (err: unknown) => {
            failed = true;
            reject(err);
          },
        );
      }
    };
    pump();
  });
  return { trees: seen.size };
}
