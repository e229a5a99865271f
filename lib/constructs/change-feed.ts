/**
 * ChangeFeed: the one reader of the inventory table's stream. Its function turns item changes
 * into domain events (`Finding Recorded`, `Resource Inventoried`, `Resource Changed`, `Agent
 * Identified`, `Principal Watched`: lambdas/core/events.ts) and publishes them on an event bus,
 * where later capabilities and users' own rules subscribe.
 *
 * A Lambda rather than EventBridge Pipes: turning old and new images into "what changed" is logic
 * (a resource's kind, status, sensitivity or tags), which Pipes would need an enrichment Lambda
 * for anyway; the Lambda also lets the local replay run the very same code, and handles
 * PutEvents' partial failures entry by entry. The event source mapping filters the records to
 * the items an event is made from, bisects a failing batch, and reports the first record it
 * could not publish, so the stream retries from there; records that still fail after a day go
 * to the function's dead-letter queue (as stream pointers: the records stay readable for 24 hours).
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { CHANGE_FEED_ENVIRONMENT, CHANGE_FEED_FILTER, CHANGE_FEED_SERVICE } from '../../lambdas/change-feed/environment';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { AiVisibilityFunction, handlerEntry, houseOptions, type HouseFunctionOptions } from './house-function';
import type { AiInventoryTable } from './inventory-table';
import { grantTagLookups } from './permissions';

export interface ChangeFeedProps extends HouseFunctionOptions {
  /** The inventory table; its stream must carry new and old images. */
  readonly inventory: AiInventoryTable;
  /** The bus the domain events are published on. @default the account's default bus */
  readonly eventBus?: events.IEventBus;
  /** Organization mode: look up member accounts' tags through each member role. @default this account only */
  readonly organizationId?: string;
  /** Stream records per invocation. @default 100 */
  readonly batchSize?: number;
  /** How long to gather a batch. @default 1 second */
  readonly maxBatchingWindow?: Duration;
}

export class ChangeFeed extends Construct {
  readonly function: AiVisibilityFunction;
  /** The bus the domain events go to. */
  readonly eventBus: events.IEventBus;

  constructor(scope: Construct, id: string, props: ChangeFeedProps) {
    super(scope, id);
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.function = new AiVisibilityFunction(this, 'Function', {
      entry: handlerEntry('change-feed'),
      description: 'ai-visibility: turns inventory changes into domain events on the event bus',
      timeout: Duration.seconds(60),
      memorySize: 256,
      ...houseOptions(props),
      // Its failure destination: stream records it could not publish within a day.
      deadLetterQueue: true,
      environment: environmentFor(CHANGE_FEED_ENVIRONMENT, { ...houseEnvironment(CHANGE_FEED_SERVICE), EVENT_BUS_NAME: this.eventBus.eventBusName, TABLE_NAME: props.inventory.table.tableName, ORGANIZATION_MODE: props.organizationId ? 'true' : 'false' }),
    });
    this.eventBus.grantPutEventsTo(this.function);
    // The controls of a finding's resource and principal: an excluded one's findings are not
    // published. Read from the table; a resource's tags are also looked up (cached in the table)
    // for what was tagged before the deploy (tag:GetResources has no resource-level permissions).
    // Principals' tags come from the cache the classifier fills: no IAM here.
    props.inventory.grantItemReadAndLookupCache(this.function);
    grantTagLookups(this, this.function.role!, props.organizationId);
    this.function.addEventSource(
      new DynamoEventSource(props.inventory.table, {
        // From the oldest record still in the stream: a mapping created (or re-created) later misses nothing the stream holds.
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: props.batchSize ?? 100,
        maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(1),
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 100,
        maxRecordAge: Duration.days(1),
        // The function's own dead-letter queue: the house construct already granted sending to it
        // and using its key (SqsDlq would grant the key again, with wildcard actions).
        onFailure: { bind: () => ({ destination: this.function.deadLetterQueue!.queueArn }) },
        filters: [
          lambda.FilterCriteria.filter({
            eventName: lambda.FilterRule.or(...CHANGE_FEED_FILTER.eventNames),
            dynamodb: { NewImage: { entity: { S: lambda.FilterRule.or(...CHANGE_FEED_FILTER.entities) } } },
          }),
        ],
      }),
    );
  }
}
