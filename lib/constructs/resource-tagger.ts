/**
 * ResourceTagger (on by default, `tagging.enabled`): classified resources carry `ai-visibility:*`
 * tags where their owners already look (cost allocation, ABAC, tag policies). A rule on the
 * domain event bus takes `Resource Inventoried` and `Resource Changed` into a queue; the tagger
 * (lambdas/tagger) writes the tags whose value is not already right, through the Resource Groups
 * Tagging API (EC2, SageMaker and anything else it supports) or the service's own API (Bedrock,
 * bedrock-agent, AgentCore, S3), and records what it wrote or why it cannot.
 *
 * Every tagging permission is scoped to this account's resources and, where the service
 * supports the condition, to tag keys under the prefix (`aws:TagKeys`): the tagger cannot write a
 * tag outside it. Its role is under the stack's role path, which every capture pattern excludes,
 * so its own tag calls never come back as events. docs/tagging.md lists what it writes and needs.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ASSUME_MEMBER_ROLE_ACK, assumeMemberRoleStatement, taggerStatements } from './permissions';
import { DETAIL_TYPES, DOMAIN_EVENT_SOURCE } from '../../lambdas/core/events';
import { DEFAULT_TAG_PREFIX } from '../../lambdas/core/tagging';
import { TAGGER_ENVIRONMENT, TAGGER_SERVICE } from '../../lambdas/tagger/environment';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { AiVisibilityFunction, handlerEntry, houseOptions, type HouseFunctionOptions } from './house-function';
import { domainEventQueue } from './house-queue';
import type { AiInventoryTable } from './inventory-table';
import { nagArn, nagPartition } from './nag';

export interface ResourceTaggerProps extends HouseFunctionOptions {
  readonly inventory: AiInventoryTable;
  readonly domainEvents: events.IEventBus;
  /** The prefix of every tag key written. @default "ai-visibility:" */
  readonly prefix?: string;
  /** Resource kinds left alone. @default none */
  readonly exclude?: readonly string[];
  /** Deliveries before a message goes to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Organization mode: also tag member accounts' resources, through each member role (docs/organization.md). @default this account only */
  readonly organizationId?: string;
}

export class ResourceTagger extends Construct {
  readonly function: AiVisibilityFunction;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ResourceTaggerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.prefix ?? DEFAULT_TAG_PREFIX;
    const timeout = Duration.seconds(120);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = domainEventQueue(this, {
      ...props,
      ruleId: 'OnResource',
      description: 'ai-visibility: tag what was inventoried or changed',
      eventPattern: { source: [DOMAIN_EVENT_SOURCE], detailType: [DETAIL_TYPES.resourceInventoried, DETAIL_TYPES.resourceChanged] },
      consumerTimeout: timeout,
    }));
    this.function = new AiVisibilityFunction(this, 'Function', {
      entry: handlerEntry('tagger'),
      description: 'ai-visibility: tags classified resources (ai-visibility:kind, first-seen, data-sensitivity, gpu-verdict, agent, created-by-agent)',
      timeout,
      memorySize: 256,
      ...houseOptions(props),
      environment: environmentFor(TAGGER_ENVIRONMENT, {
        ...houseEnvironment(TAGGER_SERVICE),
        TABLE_NAME: props.inventory.table.tableName,
        TAG_PREFIX: prefix,
        EXCLUDE_KINDS: JSON.stringify(props.exclude ?? []),
        ACCOUNT_ID: stack.account,
        ORGANIZATION_MODE: props.organizationId ? 'true' : 'false',
      }),
    });
    props.inventory.grantClassifierWrites(this.function);

    // Only tag keys under the prefix, and the tags already there (permissions.ts: the member role of each account gets the same).
    const policy = new iam.Policy(this, 'TaggingPolicy', { roles: [this.function.role!], statements: taggerStatements({ partition: stack.partition, account: stack.account }, prefix) });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'tag:TagResources and tag:GetResources support no resource-level permissions (Service Authorization Reference, Resource Groups Tagging API); TagResources is limited to keys under the prefix, and each ARN also needs the service\'s own tagging action, scoped below; GetResources only reads tags.',
    });
    for (const [service, resource] of [['ec2', 'instance/*'], ['sagemaker', '*'], ['bedrock', '*'], ['bedrock-agentcore', '*']] as const) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(this, service, resource, '*')}]`,
        reason: `The tagger tags the AI resources this account's events reveal, in any region and named only at run time; the ${service} tagging action is limited to this account and to tag keys under the prefix.`,
      });
    }
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagPartition(this)}:s3:::*]`,
      reason: 'Buckets are named only at run time and their ARNs carry no account: the condition aws:ResourceAccount keeps it to this account. PutBucketTagging supports no tag-key condition; the tagger merges into the existing set.',
    });
    if (props.organizationId) {
      this.function.addToRolePolicy(assumeMemberRoleStatement(stack.partition, props.organizationId));
      Validations.of(this.function.role!).acknowledge(ASSUME_MEMBER_ROLE_ACK(nagPartition(this)));
    }
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 50, maxBatchingWindow: Duration.seconds(10), reportBatchItemFailures: true, maxConcurrency: 2 }));
  }
}
