export { mapParallel } from './map-parallel.js';
