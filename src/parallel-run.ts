import { Observable, type Subscriber } from 'rxjs';
import { type EngineSettings, type EngineSink, ParallelEngine } from './engine/engine.js';
import { IteratorSink } from './engine/iterator-sink.js';
import { ObserverSink } from './engine/observer-sink.js';
import { ResultCollector } from './engine/result-collector.js';
import type { ItemSource } from './engine/sources.js';
import { cancellationReason } from './errors.js';
import { EventStream, type RunEvent } from './events.js';
import type { ItemResult } from './item-result.js';
import type { ParallelResult } from './parallel-result.js';
import { stopReasonOf } from './upstream-subscriber.js';

/** Everything a run needs, fixed at the call; each subscription, await or loop makes its own engine from it. @internal */
export interface RunPlan {
  readonly settings: EngineSettings;
  /** Holds the run's event stream once `events$` is first read; every later execution reports to it. */
  readonly runEvents: { subject: EventStream | undefined };
  readonly ordered: boolean;
  readonly createSource: () => ItemSource<unknown>;
}

/**
 * A parallel map, not yet running. It is three things at once:
 *
 * - an **Observable** of {@link ItemResult}s, one per item, in completion order (input order with `ordered: true`);
 *   unsubscribing stops admission and aborts every task in flight;
 * - an **AsyncIterable** of the same, with backpressure: an item counts as delivered only when the loop pulls it, and
 *   no more than `window` items are admitted ahead of the loop; leaving the loop early cancels the run;
 * - **PromiseLike** of a {@link ParallelResult}. Like a TaskRun, awaiting is memoized: every `await` of the same run
 *   shares one execution, while each subscription or loop runs the map again.
 *
 * An Iterable input is iterated anew by each execution; a one-shot generator yields its items to the first only.
 *
 * @example
 * ```ts
 * import { parallelMap } from 'rxtask';
 *
 * const run = parallelMap(async (x: number) => x * 2, [1, 2, 3], { concurrency: 2 });
 * run.subscribe((item) => console.log(item.index, item.ok && item.value)); // as they complete
 * const result = await run;
 * console.log(result.values()); // [2, 4, 6]
 * ```
 */
export class ParallelRun<R> extends Observable<ItemResult<R>> implements PromiseLike<ParallelResult<R>> {
  private settled: Promise<ParallelResult<R>> | undefined = undefined;
  /** The execution behind `await`, once started. */
  private awaited: ParallelEngine | undefined = undefined;
  private readonly plan: RunPlan;

  /** @internal */
  constructor(plan: RunPlan) {
    super((subscriber) => subscribeRun(plan, subscriber));
    this.plan = plan;
  }

  /**
   * The events of this run's executions (each subscription, await or loop): `queued`, `started`, `retrying`,
   * `succeeded`, `failed`, `cancelled` and `progress`. Subscribe before the run starts.
   */
  get events$(): Observable<RunEvent> {
    this.plan.runEvents.subject ??= new EventStream();
    return this.plan.runEvents.subject;
  }

  // biome-ignore lint/suspicious/noThenProperty: a ParallelRun is awaitable by design.
  then<A = ParallelResult<R>, B = never>(
    onFulfilled?: ((value: ParallelResult<R>) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.awaiters += 1;
    this.settled ??= new Promise<ParallelResult<R>>((resolve, reject) => {
      const source = this.plan.createSource();
      const engine = new ParallelEngine(
        this.plan.settings,
        source,
        new ResultCollector<R>(source.size, resolve, reject),
      );
      this.awaited = engine;
      engine.start();
    });
    return this.settled.then(onFulfilled, onRejected);
  }

  /** As `Promise.prototype.catch`: awaits the run (starting it if need be) and handles its failure. */
  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<ParallelResult<R> | B> {
    return this.then(undefined, onRejected);
  }

  /** As `Promise.prototype.finally`: awaits the run (starting it if need be) and runs `onFinally` either way. */
  finally(onFinally?: (() => void) | null): Promise<ParallelResult<R>> {
    return this.then().finally(onFinally);
  }

  /** How many times the run was awaited (`then`, `catch`, `finally`): they all share one execution. @internal */
  awaiters = 0;

  /**
   * Cancels the execution behind `await` (for `gather`, which awaits runs and must stop them when it gives up): it
   * ends `'cancelled'`, as if its signal had aborted. @internal
   */
  cancelAwaited(reason: unknown): void {
    this.awaited?.cancel(reason);
  }

  /**
   * Cancels the execution behind `await`, if one was started, and waits until every task function it called has
   * returned or thrown (a function that ignores its signal is waited for). Subscriptions and `for await` loops are
   * their own: unsubscribe, or leave the loop.
   *
   * @example
   * ```ts
   * import { parallelMap } from 'rxtask';
   *
   * {
   *   await using run = parallelMap(async (x: number) => x, [1, 2, 3]);
   *   console.log((await run).values()); // [1, 2, 3]
   * } // nothing of the run is left running here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    const engine = this.awaited;
    if (engine === undefined) return Promise.resolve();
    engine.cancel(cancellationReason('The run was disposed'));
    return new Promise((resolve) => engine.calls.whenIdle(resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<ItemResult<R>> {
    const sink = new IteratorSink<R>(this.plan.ordered, this.plan.settings.window);
    sink.engine = new ParallelEngine(this.plan.settings, this.plan.createSource(), sink);
    return sink;
  }
}

function subscribeRun<R>(plan: RunPlan, subscriber: Subscriber<ItemResult<R>>): void {
  const sink = new ObserverSink<R>(subscriber, plan.ordered, plan.settings.window);
  const engine = new ParallelEngine(plan.settings, plan.createSource(), sink as EngineSink);
  sink.engine = engine;
  // Registered before the first item runs, so a downstream `take(n)` stops even a synchronous run at once.
  subscriber.add(() => engine.dispose(stopReasonOf(subscriber, cancellationReason)));
  engine.start();
}
