import { AsyncLocalStorage } from 'node:async_hooks';
import fc from 'fast-check';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit, RateLimiter, type Task, type TaskContext, type TaskFuture, task } from '../src/index.js';

/**
 * Issue 14: random trees of tasks, parents starting children (called, submitted, mapped, or submitted and left to
 * run on), under shared concurrency limits and a rate limiter, with roots cancelled at random moments. The limits
 * are taken in a fixed order down a tree (a child's limit is its nearest limited ancestor's or a later one), as any
 * program holding several locks must; within that, whatever the shape:
 *
 * - the number of families running under each limit never exceeds it: a child started while an ancestor under the
 *   same limit still runs borrows that ancestor's permit and counts as one with it (a parent's own code may run beside
 *   a child it started and did not await, as the concurrency guide says); any other task takes a permit of its own;
 * - a permit is lent to one child at a time: siblings borrowing it run in turn;
 * - every run settles (no deadlock), and every function ends;
 * - every task sees its own root caller's AsyncLocalStorage value, whatever it waited for.
 */

interface TreeNode {
  /** Index of the concurrency limit it runs under, or -1 for none. */
  limit: number;
  rate: boolean;
  /** Turns of work before and after its children. */
  before: number;
  after: number;
  mode: 'call' | 'submit' | 'map' | 'forget';
  children: TreeNode[];
}

const LIMIT_CAPS = [1, 2, 1];

/** A node whose limit is `floor` or later (or none): limits are taken in order down a tree. */
function nodeArbitrary(floor: number, depth: number): fc.Arbitrary<TreeNode> {
  const limits = [-1, ...LIMIT_CAPS.map((_, i) => i).filter((i) => i >= floor)];
  return fc
    .record({
      limit: fc.constantFrom(...limits),
      rate: fc.boolean(),
      before: fc.integer({ min: 0, max: 3 }),
      after: fc.integer({ min: 0, max: 2 }),
      mode: fc.constantFrom<TreeNode['mode']>('call', 'submit', 'map', 'forget'),
    })
    .chain((drawn) => {
      // A rate-limited task has no concurrency limit here: a child that waits for a token after borrowing would start
      // when its lender may have ended, a moment this model cannot see from outside.
      const node = { ...drawn, rate: drawn.rate && drawn.limit === -1 };
      const nextFloor = node.limit === -1 ? floor : node.limit;
      const children: fc.Arbitrary<TreeNode[]> =
        depth === 0 ? fc.constant([]) : fc.array(nodeArbitrary(nextFloor, depth - 1), { maxLength: 3 });
      return children.map((kids) => ({ ...node, children: kids }));
    });
}

const caller = new AsyncLocalStorage<number>();

/** One running task, as its descendants see it. */
interface Lineage {
  readonly limit: number;
  readonly family: number;
  active: boolean;
  readonly parent: Lineage | undefined;
}

describe('trees of tasks under shared limits', () => {
  it('never exceed a limit, never deadlock, and keep every caller’s async context', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(nodeArbitrary(0, 3), { minLength: 1, maxLength: 4 }),
        fc.option(fc.record({ root: fc.nat(), step: fc.integer({ min: 0, max: 40 }) }), { nil: undefined }),
        async (roots, cancel) => {
          const scheduler = new TestScheduler(() => {});
          scheduler.maxFrames = Number.POSITIVE_INFINITY;
          const limits = LIMIT_CAPS.map((cap) => new ConcurrencyLimit(cap));
          const limiter = new RateLimiter({ limit: 2, interval: 5, scheduler });
          /** Per limit: how many of each family's members are running now. */
          const running = LIMIT_CAPS.map(() => new Map<number, number>());
          const peak = LIMIT_CAPS.map(() => 0);
          let families = 0;
          /** Per lender: its borrowers running now, and the most at once. */
          const borrowing = new Map<Lineage, number>();
          let mostBorrowing = 0;
          const contextErrors: string[] = [];
          let functionsRunning = 0;
          const left: TaskFuture<unknown>[] = [];
          const tasks = new Map<string, Task<[TreeNode, number, Lineage | undefined, Lineage | undefined], void>>();

          const taskFor = (
            node: TreeNode,
          ): Task<[TreeNode, number, Lineage | undefined, Lineage | undefined], void> => {
            const key = `${node.limit}/${node.rate}`;
            let found = tasks.get(key);
            if (found === undefined) {
              found = task(runNode, {
                concurrencyLimit: node.limit === -1 ? undefined : limits[node.limit],
                rateLimit: node.rate ? limiter : undefined,
              });
              tasks.set(key, found);
            }
            return found;
          };

          /** The nearest ancestor under the same limit still running when a child is called: it may lend its permit. */
          const lenderFor = (node: TreeNode, parent: Lineage | undefined): Lineage | undefined => {
            let lender = node.limit === -1 ? undefined : parent;
            while (lender !== undefined && !(lender.limit === node.limit && lender.active)) lender = lender.parent;
            return lender;
          };

          function runNode(
            this: TaskContext,
            node: TreeNode,
            root: number,
            parent: Lineage | undefined,
            calledWith: Lineage | undefined,
          ): Promise<void> {
            // Still running when its turn came: it lent its permit. (Else the child took a permit of its own.)
            const lender = calledWith?.active ? calledWith : undefined;
            const self: Lineage = { limit: node.limit, family: lender?.family ?? families++, active: true, parent };
            const run = runBody.call(this, node, root, self, lender);
            // Registered before the library's own reaction, so a parent is seen to end just before its permit does.
            const ended = () => {
              self.active = false;
            };
            run.then(ended, ended);
            return run;
          }

          async function runBody(
            this: TaskContext,
            node: TreeNode,
            root: number,
            self: Lineage,
            lender: Lineage | undefined,
          ): Promise<void> {
            functionsRunning += 1;
            let borrows = lender !== undefined;
            const stopBorrowing = () => {
              if (!borrows || lender === undefined) return;
              borrows = false;
              borrowing.set(lender, (borrowing.get(lender) ?? 0) - 1);
            };
            if (lender !== undefined) {
              borrowing.set(lender, (borrowing.get(lender) ?? 0) + 1);
              mostBorrowing = Math.max(mostBorrowing, borrowing.get(lender) as number);
            }
            let counted = false;
            const count = (on: boolean) => {
              if (node.limit === -1 || counted === on) return;
              counted = on;
              const members = running[node.limit];
              const now = (members.get(self.family) ?? 0) + (on ? 1 : -1);
              if (now === 0) members.delete(self.family);
              else members.set(self.family, now);
              peak[node.limit] = Math.max(peak[node.limit], members.size);
            };
            // A cancelled task gives its permit back at once: it is not running under the limit any more.
            this.signal.addEventListener('abort', () => {
              self.active = false;
              stopBorrowing();
              count(false);
            });
            const turn = async () => {
              await Promise.resolve();
              if (caller.getStore() !== root) contextErrors.push(`root ${root} saw ${caller.getStore()}`);
              if (this.signal.aborted) throw this.signal.reason;
            };
            try {
              if (caller.getStore() !== root) contextErrors.push(`root ${root} started in ${caller.getStore()}`);
              count(true);
              for (let i = 0; i < node.before; i++) await turn();
              // Waiting for its children, it lends them its permit: it is not running meanwhile.
              count(false);
              await startChildren(node, root, self);
              if (this.signal.aborted) throw this.signal.reason;
              count(true);
              for (let i = 0; i < node.after; i++) await turn();
            } finally {
              stopBorrowing();
              count(false);
              functionsRunning -= 1;
            }
          }

          async function startChildren(node: TreeNode, root: number, self: Lineage): Promise<void> {
            const { children } = node;
            const args = (child: TreeNode): [TreeNode, number, Lineage, Lineage | undefined] => [
              child,
              root,
              self,
              lenderFor(child, self),
            ];
            // `then` is called here, not by Promise.all a microtask later: a lazy run starts (and finds the permits its
            // caller holds) at the moment this model computes its lender.
            const started = (run: PromiseLike<unknown>) => run.then((value) => value);
            if (node.mode === 'call') {
              await Promise.all(children.map((child) => started(taskFor(child)(...args(child)))));
            } else if (node.mode === 'submit') {
              await Promise.all(children.map((child) => taskFor(child).submit(...args(child))));
            } else if (node.mode === 'map') {
              await Promise.all(children.map((child) => started(taskFor(child).starmap([args(child)]))));
            } else {
              for (const child of children) left.push(taskFor(child).submit(...args(child)));
            }
          }

          const futures = roots.map((node, root) =>
            caller.run(root, () => taskFor(node).submit(node, root, undefined, undefined)),
          );
          const settled = Promise.allSettled(futures);
          let allSettled = false;
          settled.then(() => (allSettled = true));
          for (let step = 0; step < 3_000 && !(allSettled && left.every((f) => f.done)); step++) {
            if (cancel !== undefined && step === cancel.step) futures[cancel.root % futures.length].cancel();
            await new Promise((resolve) => setImmediate(resolve));
            scheduler.flush();
          }
          // Let the functions of cancelled runs finish their turn.
          for (let step = 0; step < 50 && functionsRunning > 0; step++) {
            await new Promise((resolve) => setImmediate(resolve));
            scheduler.flush();
          }

          expect(allSettled).toBe(true);
          expect(left.every((future) => future.done)).toBe(true);
          expect(functionsRunning).toBe(0);
          expect(contextErrors).toEqual([]);
          for (const [i, value] of peak.entries()) {
            expect(value, `families under limit ${i}`).toBeLessThanOrEqual(LIMIT_CAPS[i]);
          }
          expect(mostBorrowing, 'borrowers of one permit at once').toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
  }, 120_000);
});
