/**
 * `switchyard/server`: the OpenAI-compatible gateway as a library, for programs that run the HTTP
 * server in their own process (the `switchyard serve` command is built on it). Kept apart from
 * the engine's entry (`switchyard`) so that embedding the engine loads none of pino, prom-client or
 * chokidar.
 *
 * @example
 * import { createServer } from 'switchyard/server';
 * const server = await createServer({ policyPath: 'policy.yaml', port: 8080 });
 * console.log(`listening on ${server.url}`);
 * process.once('SIGTERM', () => void server.close());
 */
export {
  type CreateServerOptions,
  createServer,
  DEFAULT_BODY_LIMIT,
  DEFAULT_GRACE_PERIOD_MS,
  NoPolicyError,
  type ServerLoggerOptions,
  type SwitchyardServer,
} from './app.js';
export type { ServerMetrics } from './metrics.js';
export type {
  EngineOptions,
  ManagerLogger,
  PolicyEngineApi,
  PolicyManager,
  PolicyVersion,
  ReloadResult,
  ReloadTrigger,
} from './policy-manager.js';
