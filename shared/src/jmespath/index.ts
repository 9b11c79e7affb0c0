// Kyverno's JMESPath: the interpreter with the unknown-path rule, and the function pack, which
// registers itself on import.
import './functions.js';

export { compileJmesPath, searchJmesPath, type CompiledJmesPath, type JmesPathAst } from './interpreter.js';
export { KYVERNO_FUNCTIONS } from './functions.js';
export { ERR_JMESPATH_EVALUATION, ERR_JMESPATH_INVALID, ERR_JMESPATH_UNKNOWN_KEY } from './errors.js';
