/**
 * @internal The first module each entry (index, tfjs) loads. A bundler that copies otca's CommonJS
 * build into an ES-module bundle (esbuild `--format=esm`, Rollup with the CommonJS plugin) replaces
 * `require` with a shim that cannot load Node's built-in modules; the first one asked for would fail
 * with the bundler's message ("Dynamic require of "node:util" is not supported"). This asks first and
 * says what happened in otca's words. Plain Node (CommonJS, or ES modules where `require` does not
 * exist) passes untouched.
 * @packageDocumentation
 */

/** @internal What to do where a bundler copied otca's JavaScript away from its package folder. */
export const BUNDLER_ADVICE =
  'Was otca bundled? It loads its native binary from its own package folder, so keep it external: ' +
  "esbuild --external:otca, webpack `externals: { otca: 'commonjs otca' }`, Rollup/Vite `external: ['otca']` " +
  "(Vite SSR: `ssr.external`), Next.js `serverExternalPackages: ['otca']`; and ship node_modules/otca with the bundle.";

if (typeof require === 'function') {
  try {
    require('node:util');
  } catch (cause) {
    throw new Error(`otca: cannot load Node's built-in modules (${(cause as Error).message}). ${BUNDLER_ADVICE}`, { cause });
  }
}
