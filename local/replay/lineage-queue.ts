/**
 * The lineage FIFO queue of the local replay, in memory, drained by the propagator Lambda's own
 * handler the way the SQS event source would: batches of ten in send order, a failed message
 * handed back to the front of the queue (FIFO: nothing behind it in its group may pass it) and,
 * after `maxDeliveries`, reported the way the dead-letter queue would hold it. Messages are
 * deduplicated by their FIFO deduplication id, as SQS does.
 */
import type { PropagatorHandler } from '../../lambdas/lineage-propagator/handler';
import { deduplicationIdOf, type LineageMessage, type LineageQueue } from '../../lambdas/core/lineage';
import { lambdaContext, sqsRecord } from './lambda-shapes';
import type { ReadProblem } from './read-logs';

interface Pending {
  readonly id: string;
  readonly message: LineageMessage;
  deliveries: number;
}

const BATCH = 10;

export class LocalLineageQueue implements LineageQueue {
  private pending: Pending[] = [];
  private readonly seen = new Set<string>();
  /** Messages handed to the propagator, first deliveries and redeliveries. */
  delivered = 0;

  async send(messages: readonly LineageMessage[]): Promise<void> {
    for (const message of messages) {
      const id = deduplicationIdOf(message);
      if (this.seen.has(id)) continue;
      this.seen.add(id);
      this.pending.push({ id, message, deliveries: 0 });
    }
  }

  get size(): number {
    return this.pending.length;
  }

  /** Run the propagator until no work is left; returns what would have been dead-lettered. */
  async drain(handler: PropagatorHandler, maxDeliveries = 3): Promise<ReadProblem[]> {
    const problems: ReadProblem[] = [];
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, BATCH);
      this.delivered += batch.length;
      const response = await handler(
        { Records: batch.map((p) => sqsRecord(p.id, JSON.stringify(p.message), Date.now(), 'ai-visibility-lineage-local.fifo')) },
        lambdaContext('ai-visibility-lineage-propagator-local'),
      );
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      const back: Pending[] = [];
      for (const p of batch) {
        if (!failed.has(p.id)) continue;
        p.deliveries++;
        if (p.deliveries >= maxDeliveries) {
          problems.push({ source: `lineage:${p.message.node}`, reason: `lineage ${p.message.type} not done after ${maxDeliveries} deliveries (deployed: moved to the lineage dead-letter queue)` });
        } else back.push(p);
      }
      this.pending.unshift(...back);
    }
    return problems;
  }
}
