/**
 * Reading one trail log file and sending the calls a filter keeps to the capture queue, as the
 * EventBridge envelopes the capture rules would deliver: the live trail reader and the history
 * import (backfill-handler.ts) read files the same way.
 */
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { LogFileKey } from '../core/trail';
import { sendCaptureMessages } from '../shared/capture-queue';
import { keptRecords } from './read';

/** Why a file is not read again: it is done with, not retried. */
export class Unreadable extends Error {}

export interface FileReaderDependencies {
  readonly s3: Pick<S3Client, 'send'>;
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly queueUrl: string;
  readonly bucket: string;
  readonly maxBytes: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface FileRead {
  readonly records: number;
  readonly kept: number;
  readonly bytes: number;
}

export function createFileReader(deps: FileReaderDependencies) {
  const { s3, sqs, logger, metrics, maxBytes } = deps;

  const send = (messages: readonly string[]): Promise<void> => sendCaptureMessages(sqs, deps.queueUrl, messages);

  /** Read one log file and send the calls `keep` takes; resolves to the counts. */
  const readFile = async (file: LogFileKey, keep: (e: Record<string, unknown>) => boolean): Promise<FileRead> => {
    let bytes: Buffer;
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: file.key }));
      if (typeof object.ContentLength === 'number' && object.ContentLength > maxBytes) throw new Unreadable(`${object.ContentLength} bytes, above the ${maxBytes} a file may hold`);
      bytes = Buffer.from(await object.Body!.transformToByteArray());
    } catch (error) {
      // Gone (a lifecycle rule, a look-back racing one): nothing to read, now or later.
      if ((error as { name?: string }).name === 'NoSuchKey') throw new Unreadable('no such key');
      throw error;
    }
    const result = keptRecords(bytes, file.key, keep, maxBytes);
    if (result.problems.length) {
      logger.warn('records of a log file not read', { key: file.key, problems: result.problems.slice(0, 10), count: result.problems.length });
      metrics.addMetric('TrailRecordProblems', MetricUnit.Count, result.problems.length);
    }
    if (result.tooLarge.length) {
      logger.error('kept calls too large for a message; not recorded', { key: file.key, eventIds: result.tooLarge });
      metrics.addMetric('TrailRecordsTooLarge', MetricUnit.Count, result.tooLarge.length);
    }
    await send(result.messages);
    return { records: result.records, kept: result.messages.length, bytes: bytes.length };
  };

  return { send, readFile };
}
