/**
 * The scripted outcome `stream_cut after 3 chunks` of policy tests: a streamed answer breaks after
 * that many chunks. Apart from test-file.ts so the runner can read it without loading zod.
 */
export const CUT_AFTER = /^stream_cut after ([1-9]\d{0,4}) chunks?$/;
