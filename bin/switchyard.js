#!/usr/bin/env node
// The `switchyard` command. Runs the compiled build (dist/, made by `npm install` through the
// `prepare` script) when it is newer than every source file, and the TypeScript sources through
// tsx otherwise, so a checkout always runs what is in it. The build starts faster and uses about
// 30 MB less memory than tsx. SWITCHYARD_TSX=1 forces the sources.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/cli/main.js`;

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(ts|json)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function exists(path) {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function buildIsFresh() {
  if (!exists(built)) return false;
  // An installed package ships dist/ without the TypeScript sources.
  if (!exists(`${root}cli/main.ts`)) return true;
  if (process.env.SWITCHYARD_TSX === '1') return false;
  const builtAt = statSync(built).mtimeMs;
  return ['engine', 'server', 'cli', 'schemas']
    .filter((dir) => exists(`${root}${dir}`))
    .every((dir) => newestSource(`${root}${dir}`) <= builtAt);
}

try {
  let main;
  if (buildIsFresh()) {
    ({ main } = await import(built));
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    ({ main } = await import('../cli/main.ts'));
  }
  const code = await main(process.argv.slice(2));
  if (typeof code === 'number') process.exitCode = code;
} catch (err) {
  process.stderr.write(`switchyard: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
