/** Model-based testing with `fc.commands`: commands built from a label and what they do. */
import type fc from 'fast-check';

/**
 * A command that always applies (`check` is true): `run` acts on the model and on the real system
 * (and asserts they agree); `label` is how a counterexample shows it.
 *
 * @example
 * const del = (key: string) => command<Model, Real>(`delete(${key})`, async (m, r) => { ... });
 */
export function command<Model extends object, Real>(
  label: string,
  run: (model: Model, real: Real) => Promise<void>,
): fc.AsyncCommand<Model, Real> {
  return { check: () => true, run, toString: () => label };
}
