/**
 * A result-cache store on disk (LMDB), for results that outlive the process. Needs the optional peer `lmdb`.
 *
 * @module rxtask/lmdb
 */
export { type LmdbStoreOptions, lmdbStore } from './lmdb-store.js';
