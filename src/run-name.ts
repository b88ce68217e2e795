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
    // A rest parameter (`...ids`) names all the arguments from its position on.
    const rest = parameters.indexOf(`...${head}`);
    const position = /^\d+$/.test(head) ? Number(head) : parameters.indexOf(head);
    if (rest < 0 && (position < 0 || position >= args.length)) return placeholder;
    let value: unknown = rest >= 0 ? args.slice(rest) : args[position];
    for (const property of properties) {
      if (value === null || value === undefined) return placeholder;
      value = (value as Record<string, unknown>)[property];
    }
    return String(value);
  });
}

/**
 * The names of a function's simple parameters, read from its source (`(dataset, modelConfig = {}, ...rest) => …`),
 * a rest parameter with its `...`; a destructured or unreadable parameter leaves a gap that only its position can
 * fill. @internal
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
    .map((part) => /^\s*((?:\.\.\.)?[A-Za-z_$][\w$]*)\s*(?:=|$)/.exec(part)?.[1] ?? '');
}

/** Checks the `runName` and `parameterNames` options. @internal */
export function assertRunName(where: string, runName: unknown, names: unknown): void {
  if (runName !== undefined && typeof runName !== 'string' && typeof runName !== 'function') {
    throw new TypeError(`${where}: \`runName\` must be a template string or a function, got ${describe(runName)}`);
  }
  if (names === undefined) return;
  if (!Array.isArray(names)) {
    throw new TypeError(`${where}: \`parameterNames\` must be an array of strings, got ${describe(names)}`);
  }
  names.forEach((name, position) => {
    const last = position === names.length - 1;
    if (typeof name !== 'string' || !(last ? /^(\.\.\.)?[A-Za-z_$][\w$]*$/ : /^[A-Za-z_$][\w$]*$/).test(name)) {
      throw new TypeError(
        `${where}: \`parameterNames[${position}]\` must be a parameter name such as "id" (the last may be a rest` +
          ` parameter, "...ids"), got ${describe(name)}`,
      );
    }
    if (names.findIndex((other) => bareName(other) === bareName(name)) !== position) {
      throw new TypeError(`${where}: \`parameterNames\` names "${bareName(name)}" twice`);
    }
  });
}

/** The names a template has already warned about, so a task made again (`.with()`) does not warn again. */
const warnedTemplates = new Set<string>();

/**
 * The parameter names a task's `runName` template reads: the `parameterNames` option, or else the names in the
 * function's source. A name the template uses that is not among them is a `RangeError` when the names were given,
 * and a warning when they were read from the source: a minifier renames parameters, so the same code may work
 * unminified and not once built. @internal
 */
export function templateParameters(
  where: string,
  fn: (...args: never[]) => unknown,
  runName: RunName | undefined,
  given: readonly string[] | undefined,
): readonly string[] {
  if (typeof runName !== 'string') return [];
  const names = given ?? parameterNames(fn);
  const known = names.map(bareName);
  const unknown = placeholderNames(runName).filter((name) => !known.includes(name));
  if (unknown.length === 0) return names;
  const listed = `{${unknown.join('}, {')}}`;
  if (given !== undefined) {
    throw new RangeError(
      `${where}: \`runName\` names ${listed}, which \`parameterNames\` (${given.join(', ')}) does not list`,
    );
  }
  if (!warnedTemplates.has(runName)) {
    warnedTemplates.add(runName);
    warn(
      `${where}: \`runName\` "${runName}" names ${listed}, which the function's parameters` +
        ` (${names.filter(Boolean).join(', ') || 'none readable'}) do not include, so it is left as it is.` +
        ' A minifier or bundler may have renamed them: give the names with the task (`parameterNames: [...]`)' +
        ' or use positions ({0}).',
    );
  }
  return names;
}

/** A parameter's name without the `...` of a rest parameter. */
function bareName(name: string): string {
  return name.startsWith('...') ? name.slice(3) : name;
}

/** The argument names a template uses: the heads of its placeholders that are not positions. */
function placeholderNames(template: string): string[] {
  const names: string[] = [];
  for (const [, path] of template.matchAll(/\{([^{}]+)\}/g)) {
    const head = path.trim().split('.')[0];
    if (!/^\d+$/.test(head)) names.push(head);
  }
  return names;
}

/** A warning users can see and silence: Node's process warning (code RXTASK_RUN_NAME), or the console elsewhere. */
function warn(message: string): void {
  const host = (globalThis as { process?: { emitWarning?: (message: string, options: object) => void } }).process;
  if (typeof host?.emitWarning === 'function') host.emitWarning(message, { code: 'RXTASK_RUN_NAME' });
  else console.warn(message);
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
