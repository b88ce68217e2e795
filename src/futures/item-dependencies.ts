import type { DependencyResolver } from '../engine/engine-types.js';

/** How maps find the futures and runs among their items, once there can be any. */
let installed: ((spread: boolean) => DependencyResolver) | undefined;

/**
 * Installs how maps wait for futures and runs among their items. `task()` does it: only a task makes runs and
 * futures, so a bundle that imports `parallelMap` alone carries none of that code. @internal
 */
export function installItemDependencies(resolverOf: (spread: boolean) => DependencyResolver): void {
  installed = resolverOf;
}

/** A map's resolver: the installed one, found when an item is first looked at (no task, no future to wait for). @internal */
export function itemDependencies(spread: boolean): DependencyResolver {
  let resolver: DependencyResolver | undefined;
  return {
    needs: (item) => {
      resolver ??= installed?.(spread);
      return resolver?.needs(item) === true;
    },
    resolve: (item, ready, fail, calls) => (resolver as DependencyResolver).resolve(item, ready, fail, calls),
  };
}
