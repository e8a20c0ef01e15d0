#!/usr/bin/env node
// The `switchyard` command: runs the compiled build (dist/, which `npm install` makes in a checkout
// through the `prepare` script and a published package ships) in this process. It never starts
// TypeScript or a child process; `npm run dev` runs the sources instead.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = `${root}dist/cli/bin.js`;

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(ts|json)$/.test(e.name)) newest = Math.max(newest, mtime(path) ?? 0);
  }
  return newest;
}

const builtAt = mtime(entry);
if (builtAt === null) {
  process.stderr.write(
    'switchyard: the build (dist/) is missing: run `npm run build` (or `npm run dev` to run the sources)\n',
  );
  process.exit(2);
}
// In a checkout (the sources are there; a published package has none), say when the build is
// older than the code, rather than run old code silently.
if (mtime(`${root}cli/main.ts`) !== null) {
  const stale = ['engine', 'server', 'cli', 'schemas'].some(
    (dir) => mtime(`${root}${dir}`) !== null && newestSource(`${root}${dir}`) > builtAt,
  );
  if (stale) {
    process.stderr.write(
      'switchyard: warning: dist/ is older than the sources; run `npm run build` (or `npm run dev` to run the sources)\n',
    );
  }
}

try {
  await import(entry);
} catch (err) {
  // A module that fails to load (a dependency missing from node_modules): no stack trace.
  process.stderr.write(`switchyard: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
