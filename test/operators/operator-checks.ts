import { Observable } from 'rxjs';

/**
 * The synchronous source of RxJS's own operator specs: it emits `count` values in one loop (forever when `count` is
 * `Infinity`), checking `subscriber.closed` before each, so an operator that passes unsubscription up at once stops
 * it after the first value a downstream `take(1)` needed.
 */
export function synchronousSource(count: number, sideEffects: number[]): Observable<number> {
  return new Observable<number>((subscriber) => {
    for (let i = 0; !subscriber.closed && i < count; i++) {
      sideEffects.push(i);
      subscriber.next(i);
    }
    if (!subscriber.closed) subscriber.complete();
  });
}
