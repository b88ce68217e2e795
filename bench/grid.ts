/** The sizes and concurrency levels every contender runs. */
export const SIZES = [1e4, 1e5, 1e6];
export const CONCURRENCIES = [1, 16, 1000];
