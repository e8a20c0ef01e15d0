export const RECORDED_LINE_AJV_OPTIONS: Readonly<{
  allErrors: boolean;
  strict: boolean;
  strictRequired: boolean;
  allowUnionTypes: boolean;
}>;
export function generateValidators(): Promise<string>;
