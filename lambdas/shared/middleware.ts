/**
 * The one middleware bundle every handler gets: Powertools logger context (request id, cold
 * start, function name on every line), metrics flushed at the end of each invocation with a
 * cold-start metric, and unhandled errors logged with their stack before Lambda sees them.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

export interface HouseTools {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export function withHouseMiddleware<TEvent, TResult>(handler: (event: TEvent, context: Context) => Promise<TResult>, { logger, metrics }: HouseTools) {
  return middy(handler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use({
      onError: async (request) => {
        logger.error('unhandled error', request.error as Error);
      },
    });
}
