/**
 * The compiled engine (`dist/`), as the gateway runs it: the TypeScript runner adds helpers to
 * every closure, so in-process engine benchmarks import the build. Exits with a hint when
 * `npm run build` has not run.
 */
import { existsSync } from 'node:fs';
import type { CompiledPolicy } from '../engine/compile/compile.js';
import type { Policy } from '../engine/policy/types.generated.js';
import type { Engine, EngineOptions } from '../engine/runtime/engine.js';

export interface DistEngine {
  readonly compilePolicy: (policy: Policy) => CompiledPolicy;
  readonly createEngine: (policy: CompiledPolicy, options?: EngineOptions) => Engine;
}

/** `bench` names the benchmark in the hint. */
export async function loadDistEngine(bench: string): Promise<DistEngine> {
  const dist = new URL('../dist/engine/', import.meta.url);
  if (!existsSync(new URL('runtime/engine.js', dist))) {
    console.error(`${bench} runs the build: run \`npm run build\` first.`);
    process.exit(1);
  }
  const { compilePolicy } = (await import(new URL('compile/compile.js', dist).href)) as DistEngine;
  const { createEngine } = (await import(new URL('runtime/engine.js', dist).href)) as DistEngine;
  return { compilePolicy, createEngine };
}
