/**
 * The one way this project makes an SQS queue: encrypted with a customer-managed key, TLS only,
 * messages kept 14 days unless told otherwise.
 */
import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export type HouseQueueProps = Omit<sqs.QueueProps, 'encryption' | 'encryptionMasterKey' | 'enforceSSL' | 'dataKeyReuse'>;

export function houseQueue(scope: Construct, id: string, key: kms.IKey, props: HouseQueueProps = {}): sqs.Queue {
  return new sqs.Queue(scope, id, { retentionPeriod: Duration.days(14), ...props, encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true });
}
