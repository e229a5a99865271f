/** The agent capture sync's environment contract (see lambdas/shared/environment.ts). */
import type { EnvironmentSpec } from '../shared/environment';

export const AGENT_CAPTURE_SYNC_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  EVENT_BUS_NAME: { description: 'bus that holds the capture rules', pattern: /^[A-Za-z0-9/_.-]{1,256}$/ },
  CAPTURE_QUEUE_ARN: { description: 'queue the rules deliver to', pattern: /^arn:aws[a-z-]*:sqs:/ },
  CAPTURE_DLQ_ARN: { description: 'dead-letter queue of the rules', pattern: /^arn:aws[a-z-]*:sqs:/ },
  POWERTOOLS_SERVICE_NAME: { description: 'service name in logs and metrics' },
  POWERTOOLS_METRICS_NAMESPACE: { description: 'CloudWatch namespace', pattern: /^[A-Za-z0-9/_.#:-]{1,255}$/ },
} as const satisfies EnvironmentSpec;
