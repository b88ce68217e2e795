// CPU-bound work for the worker bench: plain JavaScript, as a worker thread needs.

/** Burns about `ms` of CPU time computing primes, and returns how many it found. */
export function burn(ms) {
  const end = performance.now() + ms;
  let found = 0;
  for (let n = 2; performance.now() < end; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) found += 1;
  }
  return found;
}

export function identity(x) {
  return x;
}
