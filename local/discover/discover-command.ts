/**
 * `ai-visibility discover --region R [--profile P]`: the deployed listing, run from a laptop
 * against a real account with the credentials of the usual SDK chain (read-only calls only),
 * into the local store the other commands read. Nothing is deployed.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { listingClients } from '../../lambdas/discovery/aws-clients';
import { discoverTarget } from '../../lambdas/discovery/discover';
import { LISTERS } from '../../lambdas/discovery/listers';
import { storedResourcesOf, type ListingReport } from '../../lambdas/discovery/record';
import type { ApiOutcome } from '../../lambdas/core/listing';
import { createInventoryStore } from '../../lambdas/shared/inventory-store';
import { LOCAL_TABLE_NAME, localPropagatorHandler } from '../handlers';
import { LocalLineageQueue } from '../replay/lineage-queue';
import { startLocalDynamoDb } from '../replay/local-dynamodb';

export class DiscoverError extends Error {}

/** Why the caller's identity could not be read, in one line (no stack): the mistakes a user makes. */
export function credentialProblem(error: unknown, region: string, profile: string | undefined): string {
  const e = error as { name?: string; message?: string; code?: string } | null;
  const name = e?.name ?? 'Error';
  const message = String(e?.message ?? error).split('\n')[0];
  if (name === 'CredentialsProviderError' || /Could not load credentials|profile .* (could not be found|not found)/i.test(message)) {
    return profile
      ? `no AWS credentials for profile "${profile}": ${message} (check ~/.aws/config, or sign in with \`aws sso login --profile ${profile}\`)`
      : 'no AWS credentials: set AWS_PROFILE or pass --profile (or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or sign in with `aws sso login`';
  }
  if (['ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired'].includes(name)) return `the AWS credentials have expired (${name}): sign in again`;
  if (['InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'AccessDenied', 'AccessDeniedException'].includes(name)) return `AWS refused the credentials (${name}): ${message}`;
  const network = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b/.exec(`${String(e?.code)} ${message}`)?.[1] ?? (name === 'TimeoutError' ? name : undefined);
  if (network) return `cannot reach AWS STS in ${region} (${network}): check the region and the network`;
  return `could not read the caller's identity (${name}): ${message}`;
}

/** A progress bar: `[######------] 12/27 sagemaker:ListModels`. */
export function progressBar(done: number, total: number, label: string, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${label}`;
}

export interface DiscoverRun {
  readonly report: ListingReport;
  readonly account: string;
  readonly identity: string;
}

export async function runDiscover(options: { region: string; profile?: string; store: string; progress?: (line: string) => void }): Promise<DiscoverRun> {
  const sts = new STSClient({ region: options.region, ...(options.profile ? { profile: options.profile } : {}), maxAttempts: 2 });
  let identity;
  try {
    identity = await sts.send(new GetCallerIdentityCommand({}));
  } catch (error) {
    throw new DiscoverError(credentialProblem(error, options.region, options.profile));
  } finally {
    sts.destroy();
  }
  if (!identity.Account) throw new DiscoverError('AWS STS answered without an account id');
  const account = identity.Account;

  const db = await startLocalDynamoDb({ path: options.store });
  try {
    if (!(await db.hasTable(LOCAL_TABLE_NAME))) await db.createInventoryTable(LOCAL_TABLE_NAME);
    const queue = new LocalLineageQueue();
    const propagator = localPropagatorHandler(db, LOCAL_TABLE_NAME, queue);
    const clients = listingClients(options.region, options.profile ? { profile: options.profile } : {});
    const report = await discoverTarget(
      { account, region: options.region },
      clients,
      { store: createInventoryStore(db.documents, LOCAL_TABLE_NAME), storedResources: storedResourcesOf(db.documents, LOCAL_TABLE_NAME), lineage: queue },
      { onApi: (outcome: ApiOutcome, done: number, total: number) => options.progress?.(progressBar(done, total, `${outcome.api}${outcome.complete ? '' : ' (failed)'}`)) },
    );
    await queue.drain(propagator);
    return { report, account, identity: identity.Arn ?? account };
  } finally {
    await db.close();
  }
}

/** The report as a person reads it: what was found, what is new, what is gone, and each API that failed and why. */
export function renderDiscover(run: DiscoverRun): string {
  const { report } = run;
  const lines = [`Discovery of ${run.account} in ${report.region} at ${report.at} (as ${run.identity})`, ''];
  lines.push(`  listed:            ${report.listed} resource(s) from ${report.apis.length - report.failedApis} of ${LISTERS.length} API(s)`);
  lines.push(`  found by listing:  ${report.foundByListing.length} (no event had shown them: created before capture, or missed by it)`);
  for (const arn of report.foundByListing) lines.push(`    + ${arn}`);
  lines.push(`  gone:              ${report.gone.length} (in the inventory, absent from a complete listing)`);
  for (const arn of report.gone) lines.push(`    - ${arn}`);
  lines.push(`  findings:          ${report.findings} new`);
  lines.push(`  lineage edges:     ${report.lineageEdges} new`);
  const failed = report.apis.filter((a) => !a.complete);
  if (failed.length) {
    lines.push('', `  ${failed.length} API(s) could not be listed (nothing of their kinds was judged gone):`);
    for (const a of failed) lines.push(`    ${a.api}: ${a.error?.code ?? 'Error'}: ${a.error?.message ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}
