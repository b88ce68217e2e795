import { decodeError, type EncodedError, encodeError, isEncodedError } from '../src/error-codec.js';
import { NonRetryableError } from '../src/errors.js';
import { describe } from '../src/validate.js';

export type { EncodedError };

/**
 * What crosses the wire, as JSON. A job's data is `{ v: 1, task, args, attempt, index, caller }`; its return value is
 * `{ v: 1, ok: true, value }` or `{ v: 1, ok: false, error }`, the error encoded as the worker-thread runner encodes it.
 *
 * @example
 * ```ts
 * import type { JobEnvelope } from 'rxtask/bullmq';
 *
 * const job: JobEnvelope = { v: 1, task: 'resize', args: ['cat.png', 64], attempt: 1, index: 0, caller: 'c1' };
 * console.log(JSON.stringify(job)); // what a job's data holds
 * ```
 */
export interface JobEnvelope {
  readonly v: 1;
  readonly task: string;
  readonly args: unknown[];
  /** The attempt, from 1: the task's `this.attempt`. */
  readonly attempt: number;
  /** The item's index in its map: the task's `this.index`. */
  readonly index: number | null;
  /** The caller that waits for the outcome; a worker skips the job once the caller's lease has lapsed. */
  readonly caller: string;
}

/**
 * The outcome of a job, as the worker returns it.
 *
 * @example
 * ```ts
 * import type { OutcomeEnvelope } from 'rxtask/bullmq';
 *
 * const outcomes: OutcomeEnvelope[] = [
 *   { v: 1, ok: true, value: { bytes: 1024 } },
 *   { v: 1, ok: false, error: { __rxtaskWorkerError__: true, name: 'RangeError', message: 'too big' } },
 * ];
 * console.log(outcomes.length); // 2
 * ```
 */
export type OutcomeEnvelope =
  | { readonly v: 1; readonly ok: true; readonly value: unknown }
  | { readonly v: 1; readonly ok: false; readonly error: EncodedError };

/** The outcome of an error, JSON-safe. @internal */
export function failedOutcome(error: unknown): OutcomeEnvelope {
  return { v: 1, ok: false, error: encodeError(error, true) };
}

/**
 * Reads a job's return value, which anyone able to write the queue's keys could have written: it is parsed as JSON
 * and checked, and anything but a well-formed outcome is an error of that item, never a crash or a hang. @internal
 */
export function readOutcome(
  jobId: string,
  returnvalue: unknown,
): { ok: true; value: unknown } | { ok: false; error: Error } {
  let parsed: unknown = returnvalue;
  if (typeof returnvalue === 'string') {
    try {
      parsed = JSON.parse(returnvalue);
    } catch {
      return { ok: false, error: malformed(jobId, 'is not JSON') };
    }
  }
  if (parsed === null || typeof parsed !== 'object' || (parsed as { v?: unknown }).v !== 1) {
    return { ok: false, error: malformed(jobId, 'is not an rxtask outcome') };
  }
  const outcome = parsed as { ok?: unknown; value?: unknown; error?: unknown };
  if (outcome.ok === true) return { ok: true, value: outcome.value };
  if (outcome.ok === false && isEncodedError(outcome.error)) return { ok: false, error: decodeError(outcome.error) };
  return { ok: false, error: malformed(jobId, 'is not an rxtask outcome') };
}

/** Checks a job's data on the worker: a malformed one fails its job without running anything. @internal */
export function readJob(data: unknown): JobEnvelope {
  const job = data as Partial<JobEnvelope> | null;
  const ok =
    job !== null &&
    typeof job === 'object' &&
    job.v === 1 &&
    typeof job.task === 'string' &&
    Array.isArray(job.args) &&
    typeof job.caller === 'string' &&
    Number.isInteger(job.attempt) &&
    (job.index === null || Number.isInteger(job.index));
  if (!ok) throw new NonRetryableError('serve: a job whose data is not an rxtask job envelope was skipped');
  return job as JobEnvelope;
}

function malformed(jobId: string, what: string): Error {
  return new NonRetryableError(
    `bullmqRunner: the outcome of job ${jobId} ${what}; was the queue written by another program?`,
  );
}

/**
 * Throws a TypeError naming the first part of `value` that JSON cannot carry faithfully (`where` names it: the
 * arguments, the return value). One rule for both directions. @internal
 */
export function assertJson(where: string, value: unknown, path: string, seen: Set<unknown> = new Set()): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new NonRetryableError(`${where}: ${path} is ${value}, which JSON cannot carry`);
    return;
  }
  if (typeof value !== 'object') {
    throw new NonRetryableError(`${where}: ${path} is ${describe(value)}, which JSON cannot carry`);
  }
  if (seen.has(value)) throw new NonRetryableError(`${where}: ${path} refers back to itself, which JSON cannot carry`);
  seen.add(value);
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) assertJson(where, item, `${path}[${index}]`, seen);
  } else {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      throw new NonRetryableError(
        `${where}: ${path} is ${describe(value)}, which JSON cannot carry (use plain objects)`,
      );
    }
    for (const [key, inner] of Object.entries(value)) assertJson(where, inner, `${path}.${key}`, seen);
  }
  seen.delete(value);
}
