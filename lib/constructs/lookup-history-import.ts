/**
 * LookupHistoryImport: past activity of accounts without a CloudTrail archive in S3, from
 * CloudTrail event history (LookupEvents: 90 days of management events), so agent ledgers,
 * lineage and findings start with history (docs/discovery.md, "History").
 *
 *   Plan (the account-regions, as discovery plans them; the window: the last `days`, 90 by
 *   default) -> Map over account x region (bounded concurrency; each account-region has its own
 *   quota of 2 requests/s, so they run in parallel) { LookUp: pages the AI event sources from its
 *   cursor until its time is nearly spent -> Done? -> LookUp again from the cursor; a failure is
 *   caught and recorded, never fails the run } -> Summarize
 *
 * Runs once when the stack is created (its own CloudFormation Stack Status Change event), and on
 * demand (`aws stepfunctions start-execution --input '{"days": 30}'`). Everything after the
 * capture queue is the live path, idempotent on the eventID. JSONPath, so the synthesized
 * definition runs locally (aws-local-stepfunctions).
 */
import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { LOOKUP_HISTORY_ENVIRONMENT, LOOKUP_HISTORY_SERVICE } from '../../lambdas/discovery/environment';
import { environmentFor, houseEnvironment } from '../../lambdas/shared/environment';
import { grantCaptureQueueSend } from './agent-trail-reader';
import { AiVisibilityFunction, handlerEntry, type HouseFunctionOptions } from './house-function';
import { grantOrganizationReach, historyLookupStatements, ORGANIZATION_ACCOUNTS_REASON } from './permissions';
import { lambdaStateMachine, lambdaStep, startOnStackStatus } from './state-machines';

/** Account-regions looked up at once by default: each pages at its own 2 requests/s. */
export const DEFAULT_LOOKUP_MAX_CONCURRENCY = 10;

export interface LookupHistoryImportProps extends HouseFunctionOptions {
  readonly captureQueue: sqs.IQueue;
  /** Regions of this account to look up. @default the stack's region */
  readonly regions?: readonly string[];
  /** Account-regions at once (1-40). @default 10 */
  readonly maxConcurrency?: number;
  /** Start a run of the last 90 days when the stack is created. @default true */
  readonly afterCreate?: boolean;
  /** Organization mode: every active account of the organization in these regions, through each member's role. */
  readonly organization?: { readonly organizationId: string; readonly regions: readonly string[] };
}

export class LookupHistoryImport extends Construct {
  readonly function: AiVisibilityFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly afterCreateRule?: events.Rule;

  constructor(scope: Construct, id: string, props: LookupHistoryImportProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const regions = props.regions?.length ? props.regions : [stack.region];

    this.function = new AiVisibilityFunction(this, 'Function', {
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
      sourceMaps: props.sourceMaps,
      encryptionKey: props.encryptionKey,
      environment: environmentFor(LOOKUP_HISTORY_ENVIRONMENT, {
        ...houseEnvironment(LOOKUP_HISTORY_SERVICE),
        CAPTURE_QUEUE_URL: props.captureQueue.queueUrl,
        DISCOVERY_TARGETS: regions.map((r) => `${Aws.ACCOUNT_ID}:${r}`).join(','),
        ORGANIZATION_REGIONS: props.organization ? props.organization.regions.join(',') : '',
      }),
      entry: handlerEntry('discovery', 'lookup-handler'),
      description: "ai-visibility: imports an account-region's past AI activity from CloudTrail event history (LookupEvents)",
      // It waits between requests far more than it works: the quota, not the memory, sets its pace.
      timeout: Duration.minutes(15),
      memorySize: 256,
    });
    grantCaptureQueueSend(this.function, props);
    for (const statement of historyLookupStatements()) this.function.addToRolePolicy(statement);
    if (props.organization) grantOrganizationReach(this.function, this, props.organization.organizationId);
    Validations.of(this.function.role!).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `cloudtrail:LookupEvents supports no resource-level permissions (read-only).${props.organization ? ` ${ORGANIZATION_ACCOUNTS_REASON}` : ''} The X-Ray write actions neither.`,
    });

    const invoke = (name: string, payload: Record<string, unknown>) => lambdaStep(this, this.function, name, payload);
    const planStep = invoke('Plan', { step: 'plan', 'input.$': '$' });
    const lookUp = invoke('LookUp', { step: 'lookup', 'target.$': '$.target', 'cursor.$': '$.cursor', 'totals.$': '$.totals' });
    // Throttled past its own retries, or a network failure: again later from the same cursor.
    lookUp.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(30), backoffRate: 2, maxAttempts: 2, jitterStrategy: sfn.JitterType.FULL });
    const failed = new sfn.Pass(this, 'TargetFailed', { parameters: { failed: true, 'account.$': '$.target.account', 'region.$': '$.target.region', 'error.$': '$.error.Cause' } });
    lookUp.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
    // What the run keeps of a target: its counts, not its cursor (a state holds 256 KB).
    const lookedUp = new sfn.Pass(this, 'LookedUp', { parameters: { 'account.$': '$.target.account', 'region.$': '$.target.region', 'totals.$': '$.totals' } });
    const done = new sfn.Choice(this, 'Done?').when(sfn.Condition.booleanEquals('$.done', true), lookedUp).otherwise(lookUp);
    const perTarget = new sfn.Map(this, 'LookUpAccountRegions', { itemsPath: '$.targets', maxConcurrency: props.maxConcurrency ?? DEFAULT_LOOKUP_MAX_CONCURRENCY, resultPath: '$.results' });
    perTarget.itemProcessor(lookUp.next(done));
    const summarizeStep = invoke('Summarize', { step: 'summarize', 'runId.$': '$.runId', 'results.$': '$.results' });

    this.stateMachine = lambdaStateMachine(this, {
      name: 'lookup-history',
      comment: 'ai-visibility history import from CloudTrail event history (LookupEvents)',
      roleDescription: 'Execution role of the ai-visibility LookupEvents history import state machine',
      definition: planStep.next(perTarget).next(summarizeStep),
      // 90 days of a very busy account-region at 2 requests/s can take a day (docs/discovery.md).
      timeout: Duration.days(7),
      function: this.function,
      logRetentionDays: props.logRetentionDays,
      logRemovalPolicy: props.logRemovalPolicy,
    });

    if (props.afterCreate ?? true) {
      // No dead-letter queue: a start EventBridge cannot make is one `start-execution` away (docs/discovery.md).
      this.afterCreateRule = startOnStackStatus(this, 'AfterCreate', {
        stateMachine: this.stateMachine,
        statuses: ['CREATE_COMPLETE'],
        ruleDescription: 'ai-visibility: import 90 days of event history once, when this stack is created',
        roleDescription: 'Role EventBridge starts the ai-visibility history import with when the stack is created',
      });
    }
  }
}
