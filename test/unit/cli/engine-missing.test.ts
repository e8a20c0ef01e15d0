/** A broken or incomplete engine is an error message and exit 2, never a crash or a stack trace. */

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../../cli/main.js';

afterEach(() => {
  vi.doUnmock('../../../engine/index.js');
  vi.resetModules();
});

async function runWithEngine(factory: () => object, argv: string[], env: Record<string, string> = {}) {
  vi.resetModules();
  vi.doMock('../../../engine/index.js', factory);
  const { main } = await import('../../../cli/main.js');
  let stderr = '';
  const io: CliIo = { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, env };
  const code = await main(argv, io);
  return { code, stderr };
}

describe('engine problems at runtime', () => {
  it('a missing engine function', async () => {
    const r = await runWithEngine(
      () => ({ formatHuman: () => '' }),
      ['validate', 'policies/quickstart.yaml'],
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the engine does not provide loadPolicyWithoutSecrets/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('an engine that throws: message only, the stack with SWITCHYARD_DEBUG=1', async () => {
    const throwing = () => ({
      loadPolicyWithoutSecrets: () => {
        throw new Error('boom');
      },
      formatHuman: () => '',
      formatJson: () => ({}),
      formatSarif: () => ({}),
    });
    const quiet = await runWithEngine(throwing, ['validate', 'policies/quickstart.yaml']);
    expect(quiet.code).toBe(2);
    expect(quiet.stderr).toBe('switchyard: internal error: boom\n');
    const debug = await runWithEngine(throwing, ['validate', 'policies/quickstart.yaml'], {
      SWITCHYARD_DEBUG: '1',
    });
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});
