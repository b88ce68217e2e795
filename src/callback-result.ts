import { isPromiseLike } from './task-output.js';

const noop = () => {};

/**
 * What a user's callback returned, when nothing is expected back (a listener, `onRetry`, `onProgress`): a Promise an
 * async callback returned is watched, so a rejection is reported to `onRejected` and never left unhandled. @internal
 */
export function watchCallbackResult(result: unknown, onRejected: (error: unknown) => void): void {
  if (isPromiseLike(result)) Promise.resolve(result).then(undefined, onRejected);
}

/**
 * What a callback whose answer is needed at once returned (`retryIf`, `retryAfter`): a Promise cannot be that answer,
 * so it is a TypeError naming the option (and the Promise's own rejection is not left unhandled). @internal
 */
export function assertSynchronousResult(where: string, option: string, result: unknown): void {
  if (!isPromiseLike(result)) return;
  Promise.resolve(result).then(undefined, noop);
  throw new TypeError(
    `${where}: \`${option}\` must answer synchronously, got a Promise (it cannot be an async function)`,
  );
}
