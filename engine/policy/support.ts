/**
 * Parts of the v1 language that the schema describes but the engine does not enforce yet.
 * A policy that uses one fails validation with `SEM_NOT_SUPPORTED` naming the key: a rule that
 * is accepted and silently ignored is worse than no rule. Each entry is lifted by the issue that
 * implements it (remove the row, add the behaviour and its tests).
 *
 * `pointer` is a JSON pointer pattern where `*` stands for any one segment.
 */
export interface UnsupportedFeature {
  readonly pointer: string;
  readonly feature: string;
}

export const NOT_SUPPORTED_YET: readonly UnsupportedFeature[] = [
  {
    pointer: '/models/*/timeout/total',
    feature: 'a per-model total deadline (the total deadline belongs to the route)',
  },
];
