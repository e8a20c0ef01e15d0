/** The policy regex compiler lives in engine/shared/regex.ts (validate uses it too); re-exported here. */
export { compileRegex } from '../shared/regex.js';
