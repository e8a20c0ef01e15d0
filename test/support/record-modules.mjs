/**
 * `node --import ./test/support/record-modules.mjs …`: appends the path of every module the
 * process loads to the file named by SWITCHYARD_RECORD_MODULES, one per line, for the tests and
 * benchmarks that check what an import pulls in. Two sources, because neither sees everything:
 * a resolve hook (every ESM `import`, static or dynamic, of a file) and, at exit, the CommonJS
 * cache (`require` calls made inside CommonJS packages never reach the ESM hooks).
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.SWITCHYARD_RECORD_MODULES;
if (out !== undefined && out !== '') {
  register('./record-modules-hooks.mjs', import.meta.url, { data: { out } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    const paths = Object.keys(require.cache);
    if (paths.length > 0) appendFileSync(out, `${paths.join('\n')}\n`);
  });
}
