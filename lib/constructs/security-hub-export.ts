/**
 * SecurityHubExport (opt-in, `securityHubExport: true`): findings in AWS Security Hub. A rule on
 * the domain event bus takes `Finding Recorded` and the `Resource Changed` events of deleted
 * resources into a queue; the exporter (lambdas/security-hub-export) imports them with
 * BatchImportFindings under the account's default product ARN, and archives the findings of a
 * deleted resource. At most two batches run at once: far under the API's 10 requests a second.
 * Security Hub must be enabled in the account and region.
 */
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DETAIL_TYPES, DOMAIN_EVENT_SOURCE } from '../../lambdas/core/events';
import { SECURITY_HUB_EXPORT_ENVIRONMENT, SECURITY_HUB_EXPORT_SERVICE } from '../../lambdas/security-hub-export/environment';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { AiVisibilityFunction, handlerEntry, houseOptions, type HouseFunctionOptions } from './house-function';
import { domainEventQueue } from './house-queue';
import type { AiInventoryTable } from './inventory-table';
import { nagArn, nagPartition } from './nag';
import { ASSUME_MEMBER_ROLE_ACK, assumeMemberRoleStatement, securityHubImportStatements } from './permissions';

export interface SecurityHubExportProps extends HouseFunctionOptions {
  readonly inventory: AiInventoryTable;
  readonly domainEvents: events.IEventBus;
  /** Deliveries before a message goes to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Organization mode: import member accounts' findings into their own Security Hub, through each member role. @default this account only */
  readonly organizationId?: string;
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
      environment: environmentFor(SECURITY_HUB_EXPORT_ENVIRONMENT, { ...houseEnvironment(SECURITY_HUB_EXPORT_SERVICE), TABLE_NAME: props.inventory.table.tableName, PARTITION: stack.partition, ORGANIZATION_MODE: props.organizationId ? 'true' : 'false' }),
    });
    props.inventory.grantClassifierWrites(this.function);
    // The account's default product, in the region of each finding: findings import only into their own account and region.
    for (const statement of securityHubImportStatements({ partition: stack.partition, account: stack.account })) this.function.addToRolePolicy(statement);
    Validations.of(this.function.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn(this, 'securityhub', `product/${Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account}/default`, '*')}]`,
      reason: "BatchImportFindings into this account's own default product, in whichever region a finding was recorded (Security Hub takes a finding only in its ProductArn's region).",
    });
    if (props.organizationId) {
      this.function.addToRolePolicy(assumeMemberRoleStatement(stack.partition, props.organizationId));
      Validations.of(this.function.role!).acknowledge(ASSUME_MEMBER_ROLE_ACK(nagPartition(this)));
    }
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, maxBatchingWindow: Duration.seconds(5), reportBatchItemFailures: true, maxConcurrency: 2 }));
  }
}
