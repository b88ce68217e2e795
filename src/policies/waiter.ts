/** A task waiting its turn for a limiter's token or a limit's permit. @internal */
export class Waiter {
  /** Set when it was cancelled, or granted: either way it no longer waits. */
  cancelled = false;

  constructor(
    private readonly owner: { withdraw(waiter: Waiter): void },
    /** Called when its turn comes. */
    readonly grant: () => void,
  ) {}

  /** Gives up the turn: a cancelled waiter consumes nothing. */
  cancel(): void {
    this.owner.withdraw(this);
  }
}
