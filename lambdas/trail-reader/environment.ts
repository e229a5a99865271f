/** The trail reader's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';

export const TRAIL_READER_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table (the watched principals)', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  CAPTURE_QUEUE_URL: { description: "URL of the classifier's capture queue, where the kept records go as EventBridge envelopes" },
  TRAIL_BUCKET: { description: "the trail's S3 bucket: notifications of any other bucket are refused", pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/ },
  TRAIL_PREFIX: { description: "the trail's S3 key prefix, without slashes at either end", pattern: /^[^/](.*[^/])?$/, optional: true },
  TRAIL_ORGANIZATION_ID: { description: "an organization trail's organization id: its files sit under AWSLogs/<o-id>/", pattern: /^o-[a-z0-9]{10,32}$/, optional: true },
  LOOK_BACK_MINUTES: { description: 'how far back a newly watched principal is searched for in the delivered files', pattern: /^\d{1,4}$/ },
  MAX_FILE_BYTES: { description: 'bytes a log file, or what it expands to, may hold', pattern: /^\d{1,12}$/ },
  ...HOUSE_ENVIRONMENT,
} as const satisfies EnvironmentSpec;

export type TrailReaderEnvironment = EnvironmentOf<typeof TRAIL_READER_ENVIRONMENT>;

/** The reader's Powertools service name. */
export const TRAIL_READER_SERVICE = 'ai-visibility-trail-reader';
