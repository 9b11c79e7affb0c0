export * from './errors.js';
export * from './canonical/index.js';
export * from './image/index.js';
export * from './crd/index.js';
export * from './trust-policy/index.js';
