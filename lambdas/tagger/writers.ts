/**
 * The tag writes, per API, and the retry around them.
 *
 * - Resource Groups Tagging API `TagResources`: one tag set for up to 20 ARNs of one region; a
 *   refused ARN comes back in `FailedResourcesMap` with a `FailureInfo` (StatusCode, ErrorCode,
 *   ErrorMessage). `InternalServiceException` "is safe to retry" (FailureInfo reference), and so
 *   are throttling and 5xx codes; anything else (InvalidParameterException, AccessDenied...) is
 *   for good.
 * - Bedrock `TagResource` (`resourceARN`, `tags: [{key, value}]`: custom and imported models,
 *   guardrails, application inference profiles, provisioned throughput, jobs), bedrock-agent
 *   `TagResource` (`resourceArn`, a `tags` map: agents, aliases, knowledge bases, flows), AgentCore
 *   `TagResource` (`resourceArn`, a `tags` map: runtimes, gateways).
 * - S3 `PutBucketTagging` replaces the whole set: read (`GetBucketTagging`; `NoSuchTagSet` is
 *   an empty set), merge ours in, read again just before writing and start over if the set
 *   changed in between, then write. S3 has no conditional tagging write, so a change landing in
 *   the milliseconds between the second read and the write can still be lost; docs/tagging.md says so.
 *
 * Every write is retried with exponential backoff and full jitter while it fails in a way that is
 * safe to retry, a few times; what still fails is reported, for the handler to hand back to SQS.
 */
import { BedrockClient, TagResourceCommand as BedrockTagResource } from '@aws-sdk/client-bedrock';
import { BedrockAgentClient, TagResourceCommand as BedrockAgentTagResource } from '@aws-sdk/client-bedrock-agent';
import { BedrockAgentCoreControlClient, TagResourceCommand as AgentCoreTagResource } from '@aws-sdk/client-bedrock-agentcore-control';
import { ResourceGroupsTaggingAPIClient, TagResourcesCommand } from '@aws-sdk/client-resource-groups-tagging-api';
import { GetBucketTaggingCommand, PutBucketTaggingCommand, S3Client, type Tag } from '@aws-sdk/client-s3';
import type { CredentialProvider, MemberCredentials } from '../shared/member-credentials';
import type { TagBatch, TagRoute } from '../core/tagging';

export interface TagFailure {
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
}

/** The ARNs of a batch that were not tagged, and why. */
export type TagFailures = ReadonlyMap<string, TagFailure>;

/** One write of one batch (no retry). */
export type TagWriter = (batch: TagBatch) => Promise<TagFailures>;

const RETRIABLE = /throttl|toomanyrequests|internalservice|internalserver|serviceunavailable|requesttimeout|slowdown/i;

/** Whether an error code (or an SDK error) is safe to retry. */
export function isRetriable(code: string, status?: number): boolean {
  return RETRIABLE.test(code) || (status !== undefined && status >= 500);
}

function failureOf(error: unknown): TagFailure {
  const e = error as { name?: string; message?: string; reason?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const code = e?.name ?? 'Error';
  // A member role refused: its reason (STS's answer) is the message.
  return { code, message: String((code === 'MemberRoleUnavailableError' ? e.reason : undefined) ?? e?.message ?? error).slice(0, 500), retriable: Boolean(e?.$retryable) || isRetriable(code, e?.$metadata?.httpStatusCode) };
}

/** Every ARN of the batch failed the same way. */
const allFailed = (batch: TagBatch, failure: TagFailure): TagFailures => new Map(batch.arns.map((arn) => [arn, failure]));

export interface RetryOptions {
  /** Tries in all. @default 4 */
  readonly attempts?: number;
  /** The first backoff's ceiling. @default 200 */
  readonly baseDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/**
 * Write a batch, retrying what failed in a retriable way (only those ARNs) with exponential
 * backoff and full jitter; resolves to what still failed after the last try, or for good.
 */
export async function writeWithRetries(batch: TagBatch, write: TagWriter, options: RetryOptions = {}): Promise<{ failures: TagFailures; attempts: number }> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 200;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const final = new Map<string, TagFailure>();
  let pending: TagBatch = batch;
  let attempt = 0;
  while (pending.arns.length > 0) {
    attempt++;
    let failures: TagFailures;
    try {
      failures = await write(pending);
    } catch (error) {
      failures = allFailed(pending, failureOf(error));
    }
    const retry: string[] = [];
    for (const arn of pending.arns) {
      const f = failures.get(arn);
      if (!f) {
        final.delete(arn);
        continue;
      }
      final.set(arn, f);
      if (f.retriable && attempt < attempts) retry.push(arn);
    }
    if (retry.length === 0) break;
    await sleep(Math.floor(random() * base * 2 ** (attempt - 1)));
    pending = { ...pending, arns: retry };
  }
  return { failures: final, attempts: attempt };
}

/** The SDK clients, one per account, region and API, made when first needed. */
export interface TagClients {
  taggingApi(region: string, account?: string): Pick<ResourceGroupsTaggingAPIClient, 'send'>;
  bedrock(region: string, account?: string): Pick<BedrockClient, 'send'>;
  bedrockAgent(region: string, account?: string): Pick<BedrockAgentClient, 'send'>;
  agentCore(region: string, account?: string): Pick<BedrockAgentCoreControlClient, 'send'>;
  s3(region: string, account?: string): Pick<S3Client, 'send'>;
}

/**
 * Clients over the SDK. With `credentials` (organization mode), a member account's clients use
 * its member role; the hub's own account, and every account without it, the function's own.
 */
export function defaultTagClients(credentials?: MemberCredentials): TagClients {
  const cache = new Map<string, unknown>();
  const per = <T>(name: string, make: (options: { region: string; credentials?: CredentialProvider }) => T) => (region: string, account?: string): T => {
    const k = `${name}\u0000${region}\u0000${account ?? ''}`;
    if (!cache.has(k)) {
      const provider = account && credentials ? credentials(account, region) : undefined;
      cache.set(k, make(provider ? { region, credentials: provider } : { region }));
    }
    return cache.get(k) as T;
  };
  return {
    taggingApi: per('tagging', (o) => new ResourceGroupsTaggingAPIClient(o)),
    bedrock: per('bedrock', (o) => new BedrockClient(o)),
    bedrockAgent: per('bedrock-agent', (o) => new BedrockAgentClient(o)),
    agentCore: per('agentcore', (o) => new BedrockAgentCoreControlClient(o)),
    // A bucket's region may not be the event's: follow S3's redirect to it.
    s3: per('s3', (o) => new S3Client({ ...o, followRegionRedirects: true })),
  };
}

const sameSet = (a: readonly Tag[], b: readonly Tag[]) => JSON.stringify([...a].sort((x, y) => String(x.Key).localeCompare(String(y.Key)))) === JSON.stringify([...b].sort((x, y) => String(x.Key).localeCompare(String(y.Key))));

/** S3 keeps at most 50 tags on a bucket (S3 User Guide, "Using cost allocation S3 bucket tags"). */
export const S3_MAX_TAGS = 50;

async function bucketTags(s3: Pick<S3Client, 'send'>, bucket: string): Promise<Tag[]> {
  try {
    return (await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet ?? [];
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchTagSet') return [];
    throw error;
  }
}

/** Read, merge, re-read, write: the bucket's other tags survive, and so does a change made meanwhile. */
export async function mergeBucketTags(s3: Pick<S3Client, 'send'>, bucket: string, ours: Readonly<Record<string, string>>, tries = 3): Promise<TagFailure | undefined> {
  let current = await bucketTags(s3, bucket);
  for (let i = 0; i < tries; i++) {
    const merged = [...current.filter((t) => !(String(t.Key) in ours)), ...Object.entries(ours).map(([Key, Value]) => ({ Key, Value }))];
    if (merged.length > S3_MAX_TAGS) return { code: 'TooManyTags', message: `the bucket would carry ${merged.length} tags; S3 allows ${S3_MAX_TAGS}`, retriable: false };
    const again = await bucketTags(s3, bucket);
    if (!sameSet(again, current)) {
      current = again;
      continue;
    }
    await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: merged } }));
    return undefined;
  }
  return { code: 'ConcurrentChange', message: `the bucket's tags kept changing across ${tries} tries`, retriable: true };
}

/** The writer of each API, over the given clients. */
export function awsTagWriter(clients: TagClients): TagWriter {
  const one = async (batch: TagBatch, write: (arn: string) => Promise<TagFailure | undefined>): Promise<TagFailures> => {
    const out = new Map<string, TagFailure>();
    for (const arn of batch.arns) {
      try {
        const f = await write(arn);
        if (f) out.set(arn, f);
      } catch (error) {
        out.set(arn, failureOf(error));
      }
    }
    return out;
  };
  const byRoute: Record<TagRoute, TagWriter> = {
    'tagging-api': async (batch) => {
      const response = await clients.taggingApi(batch.region, batch.account).send(new TagResourcesCommand({ ResourceARNList: [...batch.arns], Tags: { ...batch.tags } }));
      const out = new Map<string, TagFailure>();
      for (const [arn, info] of Object.entries(response.FailedResourcesMap ?? {})) {
        const code = info.ErrorCode ?? 'Unknown';
        out.set(arn, { code, message: String(info.ErrorMessage ?? '').slice(0, 500), retriable: isRetriable(code, info.StatusCode) });
      }
      return out;
    },
    bedrock: (batch) =>
      one(batch, async (arn) => {
        await clients.bedrock(batch.region, batch.account).send(new BedrockTagResource({ resourceARN: arn, tags: Object.entries(batch.tags).map(([key, value]) => ({ key, value })) }));
        return undefined;
      }),
    'bedrock-agent': (batch) =>
      one(batch, async (arn) => {
        await clients.bedrockAgent(batch.region, batch.account).send(new BedrockAgentTagResource({ resourceArn: arn, tags: { ...batch.tags } }));
        return undefined;
      }),
    agentcore: (batch) =>
      one(batch, async (arn) => {
        await clients.agentCore(batch.region, batch.account).send(new AgentCoreTagResource({ resourceArn: arn, tags: { ...batch.tags } }));
        return undefined;
      }),
    s3: (batch) => one(batch, (arn) => mergeBucketTags(clients.s3(batch.region, batch.account), arn.split(':::')[1] ?? arn, batch.tags)),
  };
  return (batch) => byRoute[batch.route](batch);
}
