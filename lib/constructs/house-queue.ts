/**
 * The one way this project makes an SQS queue: encrypted with a customer-managed key, TLS only,
 * messages kept 14 days unless told otherwise; and a domain event consumer's queue.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export type HouseQueueProps = Omit<sqs.QueueProps, 'encryption' | 'encryptionMasterKey' | 'enforceSSL' | 'dataKeyReuse'>;

export function houseQueue(scope: Construct, id: string, key: kms.IKey, props: HouseQueueProps = {}): sqs.Queue {
  return new sqs.Queue(scope, id, { retentionPeriod: Duration.days(14), ...props, encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true });
}

export interface DomainEventQueueProps {
  readonly encryptionKey: kms.IKey;
  readonly domainEvents: events.IEventBus;
  /** The rule's id and description, and the events it takes off the bus. */
  readonly ruleId: string;
  readonly description: string;
  readonly eventPattern: events.EventPattern;
  /** The consuming function's timeout: the queue hides a message six times as long (the Lambda guide's advice for SQS sources). */
  readonly consumerTimeout: Duration;
  /** Deliveries before a message goes to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

/**
 * A domain event consumer's inbox: a rule on the domain bus into a house queue with a DLQ, which
 * also takes what the rule could not deliver within a day (185 retries, the EventBridge maximum).
 */
export function domainEventQueue(scope: Construct, props: DomainEventQueueProps): { queue: sqs.Queue; deadLetterQueue: sqs.Queue; rule: events.Rule } {
  const deadLetterQueue = houseQueue(scope, 'DeadLetterQueue', props.encryptionKey);
  const queue = houseQueue(scope, 'Queue', props.encryptionKey, {
    visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
  });
  const rule = new events.Rule(scope, props.ruleId, {
    description: props.description,
    eventBus: props.domainEvents,
    eventPattern: props.eventPattern,
    targets: [new targets.SqsQueue(queue, { deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
  });
  return { queue, deadLetterQueue, rule };
}
