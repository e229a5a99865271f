/** The change feed's environment contract (see lambdas/shared/environment.ts), and which table changes reach it. */
import { HOUSE_ENVIRONMENT, type EnvironmentOf, type EnvironmentSpec } from '../shared/environment';
import { ENTITY } from '../shared/items';

export const CHANGE_FEED_ENVIRONMENT = {
  EVENT_BUS_NAME: { description: 'name or ARN of the bus the domain events are published on', pattern: /^[A-Za-z0-9/_.:-]{1,1600}$/ },
  TABLE_NAME: { description: 'name of the inventory DynamoDB table (the controls of a finding\'s resource and principal)', pattern: /^[A-Za-z0-9_.-]{3,255}$/ },
  ...HOUSE_ENVIRONMENT,
  ORGANIZATION_MODE: { description: "'true': look up member accounts' resource tags through each member role (docs/organization.md)", pattern: /^(true|false)$/, optional: true },
} as const satisfies EnvironmentSpec;

export type ChangeFeedEnvironment = EnvironmentOf<typeof CHANGE_FEED_ENVIRONMENT>;

/** The feed's Powertools service name. */
export const CHANGE_FEED_SERVICE = 'ai-visibility-change-feed';

/**
 * The stream records the feed reads: inserts and modifications of the items a domain event is
 * made from. The event source mapping filters on these (filtered-out records are not billed as
 * invocations), and the local replay's stream applies the same filter.
 */
export const CHANGE_FEED_FILTER = {
  eventNames: ['INSERT', 'MODIFY'],
  entities: [ENTITY.finding, ENTITY.resource, ENTITY.agent, ENTITY.watch],
} as const;
