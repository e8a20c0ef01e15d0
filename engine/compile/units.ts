/** The unit parsers live in engine/shared/units.ts (validate uses them too); re-exported here. */
export * from '../shared/units.js';
