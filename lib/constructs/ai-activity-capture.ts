/**
 * AiActivityCapture: EventBridge rules (on the default bus, or the bus given) that catch AI-related CloudTrail
 * activity and deliver it to an encrypted SQS queue.
 *
 * The rules come from lib/capture/patterns.ts (the same data the local replay evaluates). Rules
 * whose services signal through read-only calls (InvokeModel, Converse...) use the state
 * ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS; a plain ENABLED rule never sees them.
 * The queue is the buffer that makes bursts, throttles and retries lose nothing: EventBridge
 * retries delivery for 24 hours, the consumer reports partial batch failures, and whatever
 * still cannot be processed waits in the dead-letter queue (14 days) for inspection and redrive.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { houseQueue } from './house-queue';
import { Construct } from 'constructs';
import { captureRules, type CaptureRuleSpec } from '../capture/patterns';
import { CAPTURE_TARGET, ENABLED_WITH_READ_ONLY_EVENTS } from '../../lambdas/core/constants';

export interface AiActivityCaptureProps {
  /** The bus CloudTrail events arrive on. @default the account's default bus */
  readonly eventBus?: events.IEventBus;
  /** The rules to create. @default captureRules() */
  readonly rules?: readonly CaptureRuleSpec[];
  /**
   * Rules on the account's default bus whatever `eventBus` is: events AWS services deliver only
   * there (GuardDuty's findings), never forwarded by member accounts. @default none
   */
  readonly defaultBusRules?: readonly CaptureRuleSpec[];
  /** Visibility timeout of the queue: at least six times the consumer's timeout (AWS guidance for Lambda event sources). @default 6 minutes */
  readonly visibilityTimeout?: Duration;
  /** Deliveries to the consumer before a message moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default Duration.days(14) */
  readonly retentionPeriod?: Duration;
  /** Keep the queues' key when the stack is deleted (messages in flight stay decryptable). @default true */
  readonly retainKey?: boolean;
}

export class AiActivityCapture extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly key: kms.Key;
  readonly rules: events.CfnRule[] = [];
  /** The bus the rules listen on. */
  readonly eventBus: events.IEventBus;
  private readonly eventsPrincipal: iam.ServicePrincipal;

  constructor(scope: Construct, id: string, props: AiActivityCaptureProps = {}) {
    super(scope, id);
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const stack = Stack.of(this);
    this.key = new kms.Key(this, 'Key', { description: 'ai-visibility capture queues encryption', enableKeyRotation: true, removalPolicy: (props.retainKey ?? true) ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY });
    const retentionPeriod = props.retentionPeriod ?? Duration.days(14);
    this.deadLetterQueue = houseQueue(this, 'DeadLetterQueue', this.key);
    this.queue = houseQueue(this, 'Queue', this.key, {
      retentionPeriod,
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    const eventsPrincipal = new iam.ServicePrincipal('events.amazonaws.com');
    const placed = [...(props.rules ?? captureRules()).map((spec) => ({ spec, bus: this.eventBus.eventBusName })), ...(props.defaultBusRules ?? []).map((spec) => ({ spec, bus: 'default' }))];
    for (const { spec, bus } of placed) {
      const rule = new events.CfnRule(this, `${spec.id}Rule`, {
        description: `ai-visibility: ${spec.description}`.slice(0, 512),
        eventBusName: bus,
        eventPattern: spec.pattern,
        state: spec.includeReadOnlyManagementEvents ? ENABLED_WITH_READ_ONLY_EVENTS : 'ENABLED',
        targets: [
          {
            id: CAPTURE_TARGET.id,
            arn: this.queue.queueArn,
            deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
            retryPolicy: { maximumEventAgeInSeconds: CAPTURE_TARGET.maximumEventAgeInSeconds, maximumRetryAttempts: CAPTURE_TARGET.maximumRetryAttempts },
          },
        ],
      });
      this.rules.push(rule);
    }

    // EventBridge may send to the queues only on behalf of these rules.
    const ruleArns = this.rules.map((r) => r.attrArn);
    for (const queue of [this.queue, this.deadLetterQueue]) {
      queue.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [eventsPrincipal],
          actions: ['sqs:SendMessage'],
          resources: [queue.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': ruleArns } },
        }),
      );
    }
    this.eventsPrincipal = eventsPrincipal;
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [eventsPrincipal],
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
  }

  /**
   * Let rules created after deployment on the capture bus, named `namePattern` in this account and
   * region, deliver to the queues. Rules on a custom bus have the bus in their ARN
   * (`rule/<bus>/<name>`), rules on the default bus do not (EventBridge ARN formats, Service
   * Authorization Reference).
   */
  allowRulesNamed(namePattern: string): void {
    const stack = Stack.of(this);
    const arn = stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleResourceName(this.eventBus, namePattern), arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    for (const queue of [this.queue, this.deadLetterQueue]) {
      queue.addToResourcePolicy(
        new iam.PolicyStatement({ principals: [this.eventsPrincipal], actions: ['sqs:SendMessage'], resources: [queue.queueArn], conditions: { ArnLike: { 'aws:SourceArn': arn } } }),
      );
    }
  }
}

/** A rule's resource name in its ARN: `<name>` on the default bus, `<bus>/<name>` on any other. */
export function ruleResourceName(bus: events.IEventBus, name: string): string {
  return bus.eventBusName === 'default' ? name : `${bus.eventBusName}/${name}`;
}
