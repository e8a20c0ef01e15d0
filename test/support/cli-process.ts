/**
 * How tests run the `switchyard` command as its own process: the TypeScript sources through tsx,
 * in that one process (`node --import tsx cli/bin.ts …`, what `npm run dev` runs), so a test
 * exercises the code in the tree without a build. `bin/switchyard.js` runs the same entry from
 * dist/ (checked by test/unit/packaging.test.ts).
 */
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Node arguments before the command's own (`serve`, `--policy`, …). */
export const CLI_NODE_ARGS: readonly string[] = ['--import', 'tsx', `${ROOT}cli/bin.ts`];
