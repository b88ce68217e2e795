// The script each worker thread runs (plain JavaScript: Node cannot run TypeScript in a worker). It imports the
// task's module once per thread, calls the named export with the call's arguments, and returns its value; an error
// comes back as a plain object with its name, message, stack, cause and own properties, so the main thread can
// rebuild it whole.
const modules = new Map();

export const ERROR_KEY = '__rxtaskWorkerError__';

function encodeError(error) {
  if (!(error instanceof Error)) return { [ERROR_KEY]: true, name: 'Error', message: String(error), value: error };
  const encoded = { [ERROR_KEY]: true, name: error.name, message: error.message, stack: error.stack };
  if ('cause' in error) encoded.cause = error.cause instanceof Error ? encodeError(error.cause) : error.cause;
  for (const key of Object.keys(error)) if (!(key in encoded)) encoded[key] = error[key];
  return encoded;
}

export default async function runTask({ url, name, args }) {
  try {
    let loaded = modules.get(url);
    if (loaded === undefined) {
      loaded = await import(url);
      modules.set(url, loaded);
    }
    const fn = loaded[name];
    if (typeof fn !== 'function') throw new TypeError(`${url} has no exported function named ${name}`);
    return await fn(...args);
  } catch (error) {
    try {
      return encodeError(error);
    } catch {
      return { [ERROR_KEY]: true, name: 'Error', message: String(error) };
    }
  }
}
