/** The Security Hub exporter's environment contract (see lambdas/shared/environment.ts). */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';

export const SECURITY_HUB_EXPORT_ENVIRONMENT = {
  TABLE_NAME: { description: 'name of the inventory DynamoDB table (the findings of a deleted resource)', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  ...HOUSE_ENVIRONMENT,
  PARTITION: { description: 'the partition the findings are in (aws, aws-cn, aws-us-gov)', pattern: /^aws[a-z-]*$/ },
  ORGANIZATION_MODE: { description: "'true': import a member account's findings into its own Security Hub, through its member role (docs/organization.md)", pattern: /^(true|false)$/, optional: true },
} as const satisfies EnvironmentSpec;

export type SecurityHubExportEnvironment = EnvironmentOf<typeof SECURITY_HUB_EXPORT_ENVIRONMENT>;

/** The exporter's Powertools service name. */
export const SECURITY_HUB_EXPORT_SERVICE = 'ai-visibility-security-hub-export';
