import { describe } from './validate.js';

/**
 * How a task names each of its runs: a template over the call's arguments, or a function of them.
 *
 * @example
 * ```ts
 * import { type RunName, task } from 'rxtask';
 *
 * const byTemplate: RunName = 'resize {image.name} to {1}px';
 * const byFunction: RunName = (image: { name: string }, size: number) => `${image.name}@${size}`;
 * const resize = task((image: { name: string }, size: number) => size, { runName: byTemplate });
 * console.log(resize.submit({ name: 'cat.png' }, 64).runName, typeof byFunction); // 'resize cat.png to 64px' 'function'
 * ```
 */
export type RunName = string | ((...args: never[]) => string);

/**
 * Fills a run-name template: each `{path}` is replaced by an argument, named by the function's parameter name or by
 * its position, followed by property names: `"train on {dataset.name} with {1.name}"`. A function is called with the
 * arguments. Without a template the run is named after the task. A placeholder that names nothing is left as it is.
 * @internal
 */
export function formatRunName(
  runName: RunName | undefined,
  taskName: string,
  parameters: readonly string[],
  args: readonly unknown[],
): string {
  if (runName === undefined) return taskName;
  if (typeof runName === 'function') return String((runName as (...args: unknown[]) => unknown)(...args));
  return runName.replace(/\{([^{}]+)\}/g, (placeholder, path: string) => {
    const [head, ...properties] = path.trim().split('.');
    const position = /^\d+$/.test(head) ? Number(head) : parameters.indexOf(head);
    if (position < 0 || position >= args.length) return placeholder;
    let value: unknown = args[position];
    for (const property of properties) {
      if (value === null || value === undefined) return placeholder;
      value = (value as Record<string, unknown>)[property];
    }
    return String(value);
  });
}

/**
 * The names of a function's simple parameters, read from its source (`(dataset, modelConfig = {}) => …`); a
 * destructured or unreadable parameter leaves a gap that only its position can fill. @internal
 */
export function parameterNames(fn: (...args: never[]) => unknown): string[] {
  const source = Function.prototype.toString.call(fn);
  const single = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(source);
  if (single) return [single[1]];
  const open = source.indexOf('(');
  const close = source.indexOf(')', open);
  if (open < 0 || close < 0) return [];
  return source
    .slice(open + 1, close)
    .split(',')
    .map((part) => /^\s*(?:\.\.\.)?([A-Za-z_$][\w$]*)\s*(?:=|$)/.exec(part)?.[1] ?? '');
}

/** Checks a `runName` option. @internal */
export function assertRunName(where: string, runName: unknown): void {
  if (runName !== undefined && typeof runName !== 'string' && typeof runName !== 'function') {
    throw new TypeError(`${where}: \`runName\` must be a template string or a function, got ${describe(runName)}`);
  }
}

/** What names an item's run: the task's template over the item (its arguments when `spread`). @internal */
export function runNamer(
  definition: {
    readonly name: string;
    readonly options: { readonly runName?: RunName };
    readonly parameters: readonly string[];
  },
  spread: boolean,
): (item: unknown) => string {
  const { runName } = definition.options;
  if (runName === undefined) return () => definition.name;
  return (item) =>
    formatRunName(runName, definition.name, definition.parameters, spread ? (item as unknown[]) : [item]);
}
