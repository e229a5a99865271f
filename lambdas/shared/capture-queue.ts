/**
 * Sending EventBridge envelopes to the classifier's capture queue, as a capture rule would: the
 * trail reader, the history import from the archive and the LookupEvents import all send this way.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

export { MAX_MESSAGE_BYTES } from '../core/constants';
/** SendMessageBatch takes 10 messages of 256 KiB in all. */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 256 * 1024;

/** Send the messages in batches; entries SQS refuses are sent once more, then the call fails. */
export async function sendCaptureMessages(sqs: Pick<SQSClient, 'send'>, queueUrl: string, messages: readonly string[]): Promise<void> {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(m);
    if (current.length === BATCH_ENTRIES || (current.length > 0 && bytes + size > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length) batches.push(current);
  for (const batch of batches) {
    let pending = batch.map((body, i) => ({ Id: String(i), MessageBody: body }));
    for (let attempt = 1; attempt <= 2 && pending.length; attempt++) {
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      pending = pending.filter((e) => failed.has(e.Id));
    }
    if (pending.length) throw new Error(`the capture queue refused ${pending.length} message(s) twice`);
  }
}
