const EMPTY: unique symbol = Symbol('empty');

/**
 * Holds results that finished ahead of an earlier one, so they can leave in input order: a ring indexed by
 * `index - head`, O(1) per result, no Map (RxJS's missing `concatMapEager`, rxjs#5519). Its size is bounded by the
 * engine's window: a straggler holds admission back instead of growing this buffer. @internal
 */
export class ReorderBuffer<V> {
  private slots: (V | typeof EMPTY)[];
  private start = 0;
  /** The index of the next result to leave. */
  private head = 0;

  constructor(capacity: number) {
    this.slots = new Array(Math.max(16, Math.min(capacity, 1 << 16))).fill(EMPTY);
  }

  put(index: number, value: V): void {
    const offset = index - this.head;
    while (offset >= this.slots.length) this.grow();
    this.slots[(this.start + offset) % this.slots.length] = value;
  }

  /** The next result in input order if it is here; `undefined` otherwise. */
  takeNext(): V | undefined {
    const value = this.slots[this.start];
    if (value === EMPTY) return undefined;
    this.slots[this.start] = EMPTY;
    this.start = (this.start + 1) % this.slots.length;
    this.head += 1;
    return value;
  }

  private grow(): void {
    const length = this.slots.length;
    const grown = new Array<V | typeof EMPTY>(length * 2).fill(EMPTY);
    for (let i = 0; i < length; i++) grown[i] = this.slots[(this.start + i) % length];
    this.slots = grown;
    this.start = 0;
  }
}
