/**
 * The process entry of the `switchyard` command: runs {@link main} on this process's arguments
 * and sets its exit code. `bin/switchyard.js` imports the build of this file (dist/cli/bin.js);
 * `npm run dev` runs the source in place (`node --import tsx cli/bin.ts`). Either way the command
 * runs in the process that was started, never in a child: signals reach the server directly and
 * nothing is left running when it stops.
 */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
