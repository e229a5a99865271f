/**
 * `ai-visibility backfill --prefix P --from D --to D [--bucket B] [--state-machine ARN]`: starts
 * the deployed history import (lib/constructs/history-import.ts) and follows it to the end, with
 * the map run's counts (log objects listed, read, failed) as a progress bar on stderr.
 * `--resume EXECUTION_ARN` redrives a failed run instead: only its failed batches run again.
 */
import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  DescribeStateMachineCommand,
  ListMapRunsCommand,
  ListStateMachinesCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { distributedMapOf } from './distributed-map';
import { credentialProblem } from '../discover/discover-command';

export class BackfillError extends Error {}

/** The state machine's name CDK gives the history import (its construct id and a hash). */
const MACHINE_NAME = /^HistoryImportStateMachine/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export interface BackfillOptions {
  readonly region?: string;
  readonly profile?: string;
  readonly stateMachine?: string;
  readonly bucket?: string;
  readonly prefix?: string;
  readonly from?: string;
  readonly to?: string;
  readonly resume?: string;
  readonly pollMs?: number;
  readonly progress?: (line: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
}

export interface BackfillRun {
  readonly executionArn: string;
  readonly status: string;
  readonly objects: { readonly total: number; readonly succeeded: number; readonly failed: number; readonly pending: number; readonly running: number };
  readonly error?: string;
  readonly cause?: string;
}

/** What is wrong with the arguments, or undefined. */
export function backfillUsageProblem(o: BackfillOptions): string | undefined {
  if (o.resume) return /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:/.test(o.resume) ? undefined : `--resume takes an execution ARN, got ${JSON.stringify(o.resume)}`;
  if (!o.prefix) return 'backfill needs --prefix (the log objects to read, like ct/AWSLogs/o-exampleorg1/111122223333/)';
  if (!o.from || !o.to || !DAY.test(o.from) || !DAY.test(o.to) || Number.isNaN(Date.parse(o.from)) || Number.isNaN(Date.parse(o.to))) return `backfill needs --from and --to as days (YYYY-MM-DD), got ${JSON.stringify([o.from ?? null, o.to ?? null])}`;
  if (o.from > o.to) return `--from ${o.from} is after --to ${o.to}`;
  return undefined;
}

/** A one-line reason for an AWS error the user can act on. */
function awsLine(error: unknown, region: string, profile: string | undefined): string {
  const name = (error as { name?: string }).name ?? '';
  if (['StateMachineDoesNotExist', 'ExecutionDoesNotExist', 'ResourceNotFound', 'InvalidArn'].includes(name)) return `${name}: ${(error as Error).message.split('\n')[0]}`;
  if (name === 'ExecutionNotRedrivable') return `that run cannot be resumed: ${(error as Error).message.split('\n')[0]}`;
  if (name === 'AccessDeniedException') return `AWS refused the request (AccessDeniedException): ${(error as Error).message.split('\n')[0]}`;
  return credentialProblem(error, region, profile);
}

export function progressLine(c: BackfillRun['objects']): string {
  const width = 24;
  const done = c.succeeded + c.failed;
  const filled = c.total === 0 ? 0 : Math.round((done / c.total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${c.total} log objects${c.failed ? ` (${c.failed} failed)` : ''}`;
}

export async function runBackfill(options: BackfillOptions): Promise<BackfillRun> {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new BackfillError('backfill needs --region (or AWS_REGION): the region the stack is deployed in');
  const sfn = new SFNClient({ region, ...(options.profile ? { profile: options.profile } : {}), maxAttempts: 4 });
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const call = async <T>(send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (error) {
      throw new BackfillError(awsLine(error, region, options.profile));
    }
  };
  try {
    let executionArn: string;
    if (options.resume) {
      await call(() => sfn.send(new RedriveExecutionCommand({ executionArn: options.resume })));
      executionArn = options.resume;
    } else {
      const machine = options.stateMachine ?? (await findMachine(sfn, call));
      const described = await call(() => sfn.send(new DescribeStateMachineCommand({ stateMachineArn: machine })));
      const reader = distributedMapOf(JSON.parse(described.definition ?? '{}')).state.ItemReader as { Parameters?: { Bucket?: string } };
      const bucket = reader.Parameters?.Bucket;
      if (options.bucket && bucket && options.bucket !== bucket) throw new BackfillError(`this stack imports from the trail bucket ${bucket} (agentTrail.bucketName), not ${options.bucket}`);
      const at = (options.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-');
      const started = await call(() => sfn.send(new StartExecutionCommand({ stateMachineArn: machine, name: `backfill-${options.from}-${options.to}-${at}`.slice(0, 80), input: JSON.stringify({ prefix: options.prefix, from: options.from, to: options.to }) })));
      executionArn = started.executionArn!;
    }
    options.progress?.(`history import ${executionArn}`);
    for (;;) {
      const execution = await call(() => sfn.send(new DescribeExecutionCommand({ executionArn })));
      const runs = await call(() => sfn.send(new ListMapRunsCommand({ executionArn })));
      const mapRunArn = runs.mapRuns?.[0]?.mapRunArn;
      const counts = mapRunArn ? (await call(() => sfn.send(new DescribeMapRunCommand({ mapRunArn })))).itemCounts : undefined;
      const objects = { total: counts?.total ?? 0, succeeded: counts?.succeeded ?? 0, failed: (counts?.failed ?? 0) + (counts?.timedOut ?? 0) + (counts?.aborted ?? 0), pending: counts?.pending ?? 0, running: counts?.running ?? 0 };
      options.progress?.(progressLine(objects));
      if (execution.status !== 'RUNNING') {
        return { executionArn, status: execution.status ?? 'UNKNOWN', objects, ...(execution.error ? { error: execution.error } : {}), ...(execution.cause ? { cause: execution.cause } : {}) };
      }
      await sleep(options.pollMs ?? 10_000);
    }
  } finally {
    sfn.destroy();
  }
}

async function findMachine(sfn: SFNClient, call: <T>(send: () => Promise<T>) => Promise<T>): Promise<string> {
  const found: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await call(() => sfn.send(new ListStateMachinesCommand({ nextToken })));
    for (const m of page.stateMachines ?? []) if (m.name && MACHINE_NAME.test(m.name) && m.stateMachineArn) found.push(m.stateMachineArn);
    nextToken = page.nextToken;
  } while (nextToken);
  if (found.length === 0) throw new BackfillError('no history import state machine in this region: deploy the stack with agentTrail.bucketName set, or pass --state-machine (the HistoryImportStateMachineArn output)');
  if (found.length > 1) throw new BackfillError(`${found.length} history import state machines in this region: pass --state-machine (one of ${found.join(', ')})`);
  return found[0];
}
