export function replayBenchPolicy(root: string): string;
