/**
 * SecurityHubExport (opt-in, `securityHubExport: true`): findings in AWS Security Hub. A rule on
 * the domain event bus takes `Finding Recorded` and the `Resource Changed` events of deleted
 * resources into a queue; the exporter (lambdas/security-hub-export) imports them with
 * BatchImportFindings under the account's default product ARN, and archives the findings of a
 * deleted resource. At most two batches run at once: far under the API's 10 requests a second.
 * Security Hub must be enabled in the account and region.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DETAIL_TYPES, DOMAIN_EVENT_SOURCE } from '../../lambdas/core/events';
import { SECURITY_HUB_EXPORT_ENVIRONMENT, SECURITY_HUB_EXPORT_SERVICE } from '../../lambdas/security-hub-export/environment';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { AiVisibilityFunction, handlerEntry, houseOptions, type HouseFunctionOptions } from './house-function';
import { domainEventQueue } from './house-queue';
import type { AiInventoryTable } from './inventory-table';

export interface SecurityHubExportProps extends HouseFunctionOptions {
  readonly inventory: AiInventoryTable;
  readonly domainEvents: events.IEventBus;
  /** Deliveries before a message goes to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

export class SecurityHubExport extends Construct {
  readonly function: AiVisibilityFunction;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: SecurityHubExportProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const timeout = Duration.seconds(60);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = domainEventQueue(this, {
      ...props,
      ruleId: 'OnFindingOrDeletion',
      description: 'ai-visibility: export findings to Security Hub, and archive those of deleted resources',
      eventPattern: {
        source: [DOMAIN_EVENT_SOURCE],
        // Findings, and resources whose status became deleted.
        detail: { $or: [{ finding: { rule: [{ exists: true }] } }, { resource: { status: ['deleted'] }, changed: ['status'] }] } as never,
        detailType: [DETAIL_TYPES.findingRecorded, DETAIL_TYPES.resourceChanged],
      },
      consumerTimeout: timeout,
    }));
    this.function = new AiVisibilityFunction(this, 'Function', {
      entry: handlerEntry('security-hub-export'),
      description: 'ai-visibility: imports findings into AWS Security Hub (ASFF) and archives those of deleted resources',
      timeout,
      memorySize: 256,
      ...houseOptions(props),
      environment: environmentFor(SECURITY_HUB_EXPORT_ENVIRONMENT, { ...houseEnvironment(SECURITY_HUB_EXPORT_SERVICE), TABLE_NAME: props.inventory.table.tableName, PARTITION: stack.partition }),
    });
    props.inventory.grantClassifierWrites(this.function);
    // The account's default product: findings import only into their own account.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['securityhub:BatchImportFindings'], resources: [stack.formatArn({ service: 'securityhub', resource: 'product', resourceName: `${stack.account}/default` })] }),
    );
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, maxBatchingWindow: Duration.seconds(5), reportBatchItemFailures: true, maxConcurrency: 2 }));
  }
}
