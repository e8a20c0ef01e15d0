/**
 * The child-process side of a loader's first load (`firstLoadIn: 'process'`, off-thread.ts):
 * reads, parses and validates one policy, as load-worker.ts does, answers over the IPC channel and
 * exits. A thread would leave its malloc arena behind in the gateway (see off-thread.ts); a
 * process gives all of its memory back when it exits.
 */
import { answerLoad, type LoadRequest } from './load-worker.js';

if (process.send !== undefined) {
  process.once('message', async (request: LoadRequest) => {
    const answer = await answerLoad(request);
    // Disconnecting lets the process exit; if the gateway is gone, the channel already is.
    process.send?.(answer, () => {
      if (process.connected) process.disconnect();
    });
  });
}
