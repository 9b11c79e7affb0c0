export { parsePrivateKey } from './privateKey.js';
