/**
 * The one way a Lambda handler is made. `defineHandler` takes a function's environment contract
 * and a `build` that wires its clients and returns the work; it gives back
 * - `create(env, clients)`: the whole handler, for tests and the local runtime, and
 * - `handler`: the deployed entry point, which reads and checks `process.env` on the container's
 *   first invocation (cold start), so a missing variable fails then, naming every problem.
 * Every handler gets the same Powertools setup and middleware bundle: logger context (request
 * id, cold start, function name on every line), metrics flushed at the end of each invocation
 * with a cold-start metric, and unhandled errors logged with their stack before Lambda sees them.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { readEnvironment, type EnvironmentOf, type EnvironmentSpec, type HOUSE_ENVIRONMENT } from './environment';

export type Handler<TEvent, TResult> = (event: TEvent, context: Context) => Promise<TResult>;

export interface HouseTools<E> {
  readonly env: E;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** What every `create` accepts besides the function's own clients. */
export interface HouseOptions {
  /** Powertools log level. @default the POWERTOOLS_LOG_LEVEL variable, else INFO */
  readonly logLevel?: string;
}

const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'CRITICAL'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];
const isLogLevel = (v: string): v is LogLevel => (LOG_LEVELS as readonly string[]).includes(v);

/** The Powertools logger and metrics of a function, named by its environment. */
export function houseTools<E extends EnvironmentOf<typeof HOUSE_ENVIRONMENT>>(env: E, options: HouseOptions = {}): HouseTools<E> {
  const level = options.logLevel?.toUpperCase();
  const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME, ...(level && isLogLevel(level) ? { logLevel: level } : {}) });
  const metrics = new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
  return { env, logger, metrics };
}

/** The house middleware around a handler. */
export function withHouseMiddleware<TEvent, TResult>(work: Handler<TEvent, TResult>, { logger, metrics }: Pick<HouseTools<unknown>, 'logger' | 'metrics'>): Handler<TEvent, TResult> {
  const wrapped = middy<TEvent, TResult>(work)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use({
      onError: async (request) => {
        logger.error('unhandled error', request.error as Error);
      },
    });
  return (event, context) => wrapped(event, context);
}

export interface HandlerDefinition<S extends EnvironmentSpec, C, TEvent, TResult> {
  readonly environment: S;
  /** Wire the function's clients (`clients` overrides them in tests) and return its work. */
  build(tools: HouseTools<EnvironmentOf<S>>, clients: Partial<C>): Handler<TEvent, TResult>;
}

export function defineHandler<S extends EnvironmentSpec & typeof HOUSE_ENVIRONMENT, C extends object, TEvent, TResult>(
  definition: HandlerDefinition<S, C, TEvent, TResult>,
): { create(env: EnvironmentOf<S>, clients?: Partial<C> & HouseOptions): Handler<TEvent, TResult>; handler: Handler<TEvent, TResult> } {
  const create = (env: EnvironmentOf<S>, clients: Partial<C> & HouseOptions = {}): Handler<TEvent, TResult> => {
    const tools = houseTools(env, clients);
    return withHouseMiddleware(definition.build(tools, clients), tools);
  };
  let coldStarted: Handler<TEvent, TResult> | undefined;
  return {
    create,
    handler: (event, context) => {
      coldStarted ??= create(readEnvironment(definition.environment));
      return coldStarted(event, context);
    },
  };
}
