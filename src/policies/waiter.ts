/** A task waiting its turn for a limiter's token, a limit's permit or a parent's lent permit. @internal */
export class Waiter<G = void> {
  /** Set when it was cancelled, or granted: either way it no longer waits. */
  cancelled = false;

  constructor(
    private readonly owner: { withdraw(waiter: Waiter<G>): void },
    /** Called when its turn comes. */
    readonly grant: (granted: G) => void,
    /** Called instead when its turn will never come: the limiter was disposed. */
    readonly refuse?: (reason: unknown) => void,
  ) {}

  /** Gives up the turn: a cancelled waiter consumes nothing. */
  cancel(): void {
    this.owner.withdraw(this);
  }
}
