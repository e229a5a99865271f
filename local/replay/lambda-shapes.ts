/**
 * The shapes Lambda hands a function (context, SQS records), as the local replay builds them to
 * call the deployed handlers' own code.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSRecord } from 'aws-lambda';
import { LOCAL_REGION } from '../names';

export function lambdaContext(functionName = 'ai-visibility-classifier-local'): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export function sqsRecord(messageId: string, body: string, sentAt: number, queue = 'ai-visibility-local'): SQSRecord {
  return {
    messageId,
    receiptHandle: messageId,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sentAt),
      SenderId: 'events.amazonaws.com',
      ApproximateFirstReceiveTimestamp: String(sentAt),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:000000000000:${queue}`,
    awsRegion: LOCAL_REGION,
  };
}
