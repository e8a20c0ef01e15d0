/**
 * The process entry of the `switchyard` command: runs {@link main} on this process's arguments
 * and sets its exit code. `bin/switchyard.js` imports the build of this file (dist/cli/bin.js);
 * `npm run dev` runs the source in place (`node --import tsx cli/bin.ts`). Either way the command
 * runs in the process that was started, never in a child: signals reach the server directly and
 * nothing is left running when it stops.
 *
 * `serve` sizes the V8 heap for a long-running gateway first (cli/heap-tuning.ts), before the rest
 * of the command line loads: process-wide settings, so they are made here, for the command's own
 * process, and never by `createServer` in a program that embeds the server.
 */
import { applyHeapTuning, heapTuningFor } from './heap-tuning.js';

const argv = process.argv.slice(2);
if (argv[0] === 'serve') applyHeapTuning(heapTuningFor(process.execArgv, process.env));
// Imported after the tuning: loading the commands is the first part of the start-up it covers.
const { main } = await import('./main.js');
process.exitCode = await main(argv);
