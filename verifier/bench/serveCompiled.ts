// The server under test for `pnpm bench -- --compiled`: the verifier and the shared package run as their compiled
// JavaScript (verifier/dist, shared/dist, after `pnpm build`), which is what `pnpm verifier:prod` and the image run;
// only the benchmark's own files (serve.ts, the test kit) stay TypeScript. A resolve hook, registered before
// serve.ts is imported, maps every module of verifier/src and shared/src to its compiled file.
import { register } from 'node:module';

const hooks = `
const SOURCE = /^(file:\\/\\/.*\\/(?:verifier|shared))\\/src\\/(.*)\\.ts$/;
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const match = SOURCE.exec(resolved.url);
  if (!match || match[2].endsWith('.test')) return resolved;
  return { ...resolved, url: match[1] + '/dist/' + match[2] + '.js', format: 'module' };
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
await import('./serve.js');
