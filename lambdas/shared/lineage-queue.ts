/**
 * The lineage FIFO queue on SQS, for its two producers (the classifier and the propagator). Kept
 * apart from either handler so neither bundles the other's clients.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deduplicationIdOf, messageGroupOf, type LineageQueue } from '../core/lineage';

const SEND_BATCH = 10;
const SEND_ATTEMPTS = 4;

/** Lineage work onto the FIFO queue: SendMessageBatch by tens, retrying the entries SQS refuses. */
export function sqsLineageQueue(sqs: SQSClient, queueUrl: string): LineageQueue {
  return {
    async send(messages) {
      for (let i = 0; i < messages.length; i += SEND_BATCH) {
        let pending = messages.slice(i, i + SEND_BATCH).map((m, n) => ({ Id: String(n), MessageBody: JSON.stringify(m), MessageGroupId: messageGroupOf(m), MessageDeduplicationId: deduplicationIdOf(m) }));
        for (let attempt = 1; pending.length > 0; attempt++) {
          const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
          const failed = new Set((out.Failed ?? []).map((f) => f.Id));
          const senderFault = (out.Failed ?? []).find((f) => f.SenderFault);
          if (senderFault) throw new Error(`SQS refused a lineage message: ${senderFault.Code} ${senderFault.Message ?? ''}`);
          pending = pending.filter((e) => failed.has(e.Id));
          if (pending.length > 0 && attempt >= SEND_ATTEMPTS) throw new Error(`${pending.length} lineage message(s) not queued after ${SEND_ATTEMPTS} attempts`);
        }
      }
    },
  };
}
