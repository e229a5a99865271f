/** The classifier's environment contract (see lambdas/shared/environment.ts). */
import type { EnvironmentSpec } from '../shared/environment';

export const CLASSIFIER_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  POWERTOOLS_SERVICE_NAME: { description: 'service name in logs and metrics' },
  POWERTOOLS_METRICS_NAMESPACE: { description: 'CloudWatch namespace of the classifier metrics', pattern: /^[A-Za-z0-9/_.#:-]{1,255}$/ },
} as const satisfies EnvironmentSpec;
