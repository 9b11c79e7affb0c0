export * from './errors.js';
export * from './canonical/index.js';
export * from './image/index.js';
export * from './crd/index.js';
export * from './trust-policy/index.js';
export * from './bundle/index.js';
export * from './manifests/index.js';
