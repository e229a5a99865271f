/**
 * Capture-queue messages through the deployed classifier and lineage propagator (the replay's
 * local handlers) into a fresh table on dynalite, as SQS would deliver them.
 */
import type { Context, SQSEvent } from 'aws-lambda';
import { localPipeline } from '../../local/handlers';
import type { LocalDynamoDb } from '../../local/replay/local-dynamodb';
import { scanTable } from '../../local/replay/report';

const context = { functionName: 'classifier', awsRequestId: 'req', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

/** Create `table`, classify `bodies` (SQS message bodies) `perBatch` at a time, in order, and return the table's items. */
export async function classifyInto(db: LocalDynamoDb, table: string, bodies: readonly string[], perBatch = 100): Promise<Array<Record<string, unknown>>> {
  await db.createInventoryTable(table);
  const { handler, lineage } = localPipeline(db, table);
  for (let i = 0; i < bodies.length; i += perBatch) {
    const event = {
      Records: bodies.slice(i, i + perBatch).map((body, j) => ({ messageId: `m-${i + j}`, receiptHandle: 'h', body, attributes: { ApproximateReceiveCount: '1' }, messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:111122223333:capture', awsRegion: 'us-east-1' })),
    } as unknown as SQSEvent;
    const result = await handler(event, context);
    if (result.batchItemFailures.length) throw new Error(`the classifier failed ${result.batchItemFailures.length} message(s)`);
    await lineage.drain();
  }
  return scanTable(db.documents, table);
}
