/**
 * AiActivityClassifier: the Lambda that drains the capture queue, classifies each event and
 * writes the inventory. Partial batch responses let one bad message fail alone.
 */
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CLASSIFIER_ENVIRONMENT, CLASSIFIER_SERVICE } from '../../lambdas/classifier/environment';
import { AGENT_DEFAULTS, CLASSIFIER_BATCH_SIZE, MODEL_USE_DEFAULTS } from '../../lambdas/core/defaults';
import type { ModelUseConfig } from '../config';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { AiVisibilityFunction, handlerEntry, houseOptions, type HouseFunctionOptions } from './house-function';
import type { AiInventoryTable } from './inventory-table';
import type { LineagePropagation } from './lineage-propagation';
import { nagPartition } from './nag';
import { ASSUME_MEMBER_ROLE_ACK, assumeMemberRoleStatement } from './permissions';

/** The classifier's timeout; the capture queue's visibility timeout must be six times it. */
export const CLASSIFIER_TIMEOUT = Duration.seconds(60);

/** How the classifier identifies AI agents and keeps their ledgers (docs/agents.md). */
export interface AgentSettingsProps {
  /** ARNs of IAM roles and users declared AI agents (paths are ignored). @default none */
  readonly principals?: readonly string[];
  /** A model call and then a write to another service within this window marks an agent. @default 15 minutes */
  readonly behaviourWindow?: Duration;
  /** This many denied actions of an agent within `deniedBurstWindow` raise agent-denied-burst. @default 5 */
  readonly deniedBurstCount?: number;
  /** @default 5 minutes */
  readonly deniedBurstWindow?: Duration;
  /** Days an agent action stays in the ledger (DynamoDB TTL). @default 400 */
  readonly ledgerRetentionDays?: number;
}

export interface AiActivityClassifierProps extends HouseFunctionOptions {
  /** The queue of captured events. */
  readonly queue: sqs.IQueue;
  readonly inventory: AiInventoryTable;
  /** Messages per invocation (1-10,000). @default 1,000 */
  readonly batchSize?: number;
  /** How long SQS may wait to fill a batch (needed above 10 messages). @default 5 seconds */
  readonly maxBatchingWindow?: Duration;
  /**
   * Classifier invocations at once (the event source's MaximumConcurrency, 2-1000): bounds what a
   * burst takes from the account's Lambda concurrency and the table's write rate, without a
   * reservation. @default 5
   */
  readonly maxConcurrency?: number;
  /** @default the defaults of AgentSettingsProps */
  readonly agents?: AgentSettingsProps;
  /** The LLMjacking detections on model use (windows, baseline, known AI applications). @default MODEL_USE_DEFAULTS, no known applications */
  readonly modelUse?: Partial<ModelUseConfig>;
  /** Where the classifier sends the lineage nodes whose sensitivity must be recomputed. */
  readonly lineage: LineagePropagation;
  /** Organization mode: look up member accounts' principals through each member role. @default this account only */
  readonly organizationId?: string;
}

export class AiActivityClassifier extends Construct {
  readonly function: AiVisibilityFunction;

  constructor(scope: Construct, id: string, props: AiActivityClassifierProps) {
    super(scope, id);
    const agents = props.agents ?? {};
    const batchSize = props.batchSize ?? CLASSIFIER_BATCH_SIZE;
    this.function = new AiVisibilityFunction(this, 'Function', {
      entry: handlerEntry('classifier'),
      description: 'ai-visibility: classifies captured CloudTrail activity into the AI inventory',
      timeout: CLASSIFIER_TIMEOUT,
      memorySize: 1024,
      ...houseOptions(props),
      environment: environmentFor(CLASSIFIER_ENVIRONMENT, {
        ...houseEnvironment(CLASSIFIER_SERVICE),
        TABLE_NAME: props.inventory.table.tableName,
        AGENT_PRINCIPALS: (agents.principals ?? []).join(','),
        AGENT_BEHAVIOUR_WINDOW_SECONDS: String(agents.behaviourWindow?.toSeconds() ?? AGENT_DEFAULTS.behaviourWindowSeconds),
        AGENT_DENIED_BURST_COUNT: String(agents.deniedBurstCount ?? AGENT_DEFAULTS.deniedBurstCount),
        AGENT_DENIED_BURST_SECONDS: String(agents.deniedBurstWindow?.toSeconds() ?? AGENT_DEFAULTS.deniedBurstSeconds),
        ACTION_LEDGER_RETENTION_DAYS: String(agents.ledgerRetentionDays ?? AGENT_DEFAULTS.ledgerRetentionDays),
        LINEAGE_QUEUE_URL: props.lineage.queue.queueUrl,
        CLASSIFICATION_TAG_KEY: props.lineage.classificationTagKey,
        AGENT_TAG_LOOKUPS: 'true',
        GUARDRAIL_LOOKUPS: 'true',
        MODEL_RECON_WINDOW_SECONDS: String((props.modelUse?.reconWindowMinutes ?? MODEL_USE_DEFAULTS.reconWindowMinutes) * 60),
        MODEL_PROBE_BURST_COUNT: String(props.modelUse?.probeBurstCount ?? MODEL_USE_DEFAULTS.probeBurstCount),
        MODEL_PROBE_BURST_SECONDS: String(props.modelUse?.probeBurstSeconds ?? MODEL_USE_DEFAULTS.probeBurstSeconds),
        MODEL_BASELINE_HOURS: String(props.modelUse?.baselineHours ?? MODEL_USE_DEFAULTS.baselineHours),
        KNOWN_AI_APPLICATIONS: (props.modelUse?.knownAiApplications ?? []).join(','),
        ORGANIZATION_MODE: props.organizationId ? 'true' : 'false',
      }),
    });
    props.inventory.grantClassifierWrites(this.function);
    // Agents declared by a tag set before the deploy: the roles' and users' tags, read-only, this account.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AgentTagLookups',
        actions: ['iam:ListRoleTags', 'iam:ListUserTags'],
        resources: ['role', 'user'].map((resource) => Stack.of(this).formatArn({ service: 'iam', region: '', resource, resourceName: '*' })),
      }),
    );
    for (const type of ['role', 'user']) {
      Validations.of(this.function.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${nagPartition(this)}:iam::${Token.isUnresolved(Stack.of(this).account) ? '<AWS::AccountId>' : Stack.of(this).account}:${type}/*]`,
        reason: `The AI applications whose agent tag the classifier reads are named only at run time; it only reads ${type} tags, in this account.`,
      });
    }
    // The guardrail versions an enforced configuration moves between (their filters are not in
    // CloudTrail), read-only, in this account; member accounts' through the member role.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'GuardrailVersions',
        actions: ['bedrock:GetGuardrail'],
        resources: [Stack.of(this).formatArn({ service: 'bedrock', region: '*', resource: 'guardrail', resourceName: '*' })],
      }),
    );
    Validations.of(this.function.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:${nagPartition(this)}:bedrock:*:${Token.isUnresolved(Stack.of(this).account) ? '<AWS::AccountId>' : Stack.of(this).account}:guardrail/*]`,
      reason: 'The guardrails an enforced configuration names are known only at run time, in any region of this account; GetGuardrail only reads them.',
    });
    props.lineage.grantSend(this.function);
    if (props.organizationId) {
      this.function.addToRolePolicy(assumeMemberRoleStatement(Stack.of(this).partition, props.organizationId));
      Validations.of(this.function.role!).acknowledge(ASSUME_MEMBER_ROLE_ACK(nagPartition(this)));
    }
    this.function.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize,
        maxBatchingWindow: batchSize > 10 ? (props.maxBatchingWindow ?? Duration.seconds(5)) : undefined,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? 5,
      }),
    );
  }
}
