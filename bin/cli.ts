/**
 * `ai-visibility` command line.
 *
 *   ai-visibility replay [PATH...] [--json] [--batch-size N] [--allow-quarantine] [--verbose] [--store DIR]
 *   ai-visibility agent ARN [--json] [--store DIR | --table NAME --region R]
 *   ai-visibility lineage ARN [--upstream | --downstream] [--json] [--store DIR | --table NAME --region R]
 *   ai-visibility sweep --inventory FILE --metrics FILE [--json] [--store DIR] [--idle-sweeps N]
 *   ai-visibility discover --region R [--profile P] [--json] [--store DIR]
 *   ai-visibility backfill --prefix P --from D --to D [--bucket B] [--state-machine ARN] [--region R] [--profile P] [--json]
 *
 * With `--json`, stdout carries exactly one JSON document and everything else (logs, progress)
 * goes to stderr: stdout is reserved before any library can write to it.
 * Exit codes: 0 done, 3 done but something was quarantined (unless --allow-quarantine),
 * 1 failure, 2 usage error (discover: 3 when some API could not be listed).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoreError } from '../local/replay/store-files';
import { printable, printableDeep } from '../local/text';
import { progressReporter } from '../local/progress';
import { renderDigest } from '../lambdas/digest/digest';
import { LOCAL_FINDINGS_TOPIC, LOCAL_TABLE_NAME } from '../local/names';
import type { FindingNotification } from '../lambdas/core/notifications';
// Each command loads what it needs when it runs (the AWS SDK, the embedded DynamoDB, the
// pipeline's handlers): a command's start costs only its own modules (docs/performance.md).

/**
 * The package's root: bin/.. when run as TypeScript, dist/cli/../.. when compiled
 * (scripts/build-cli.mjs sets AI_VISIBILITY_COMPILED_CLI in the compiled file).
 */
const PACKAGE_ROOT = process.env.AI_VISIBILITY_COMPILED_CLI === 'true' ? resolve(__dirname, '..', '..') : resolve(__dirname, '..');
export const BUNDLED_SAMPLES = resolve(PACKAGE_ROOT, 'test', 'fixtures', 'cloudtrail');
/** Where `replay` keeps its embedded DynamoDB for `agent` to read, relative to the working directory. */
export const DEFAULT_STORE = '.ai-visibility/store';

/** Shown relative to the working directory when under it, so reports read well. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

const USAGE = `usage: ai-visibility replay [PATH...] [options]
       ai-visibility agent ARN [--json] [--store DIR | --table NAME --region REGION]
       ai-visibility lineage ARN [--upstream | --downstream] [--json] [--store DIR | --table NAME --region REGION]
       ai-visibility sweep --inventory FILE --metrics FILE [--json] [--store DIR] [--idle-sweeps N]
       ai-visibility discover --region REGION [--profile PROFILE] [--json] [--store DIR]
       ai-visibility backfill --prefix P --from YYYY-MM-DD --to YYYY-MM-DD [--bucket B] [--state-machine ARN]
                              [--region REGION] [--profile PROFILE] [--json] | --resume EXECUTION_ARN

Replays recorded CloudTrail activity through the ai-visibility pipeline locally, against an
embedded DynamoDB, and prints what a deployed stack would have recorded.

PATH       CloudTrail log files ({"Records":[...]}, .json or .json.gz), JSON arrays, JSON lines,
           EventBridge envelopes, lookup-events or CloudTrail Lake output, or directories of them.
           Default: the bundled samples (${BUNDLED_SAMPLES}).

options:
  --json               print one JSON document (schemaVersion 1) on stdout
  --batch-size N       messages per classifier invocation (default: the deployed 1000)
  --allow-quarantine   exit 0 even when records were quarantined
  --verbose            classifier logs at INFO on stderr
  --store DIR          keep the embedded DynamoDB in DIR (default ${DEFAULT_STORE})
  --max-file-mb N      refuse a file, or what a gzip file expands to, above N MiB (default 256)
  --agent-capture M    how watched principals' calls are kept: trail (default; as the trail
                       reader does, the whole file of the identifying call and a look-back)
                       or rules (as the agent capture rules do, from the next file on)
  --look-back-minutes N the trail reader's look-back for a newly watched principal (default 30)
  --store-transport T  how the functions reach the embedded DynamoDB: in-process (default;
                       dynalite called in this process) or http (its server on loopback,
                       through the AWS SDK as deployed functions call DynamoDB; the same
                       report, several times slower)
  --read-threads N     threads that read, decompress and parse the log files besides the
                       replay's own, 0 to 16 (default: the cores less one, at most 2; 0 reads in
                       the replay's thread). Trail mode, compiled CLI (npm start builds it)
  --digest             print the digest of the replayed period (everything, then one per owner)
  --notifications FILE write what would be sent for the replayed findings, one JSON line each:
                       every SNS message of the notifier after dedup (type sns-publish: topic,
                       subject, attributes, bodies) and every BatchImportFindings batch of the
                       Security Hub export (type securityhub-batch: findings)
  -h, --help           this help

A run of more than two seconds shows its progress on stderr (files, records, matched, rate):
redrawn in place on a terminal, a line every two seconds otherwise, nothing in CI (CI set) or
with --json when stdout is piped.

agent ARN prints one AI agent's profile and timeline, from the store of the last replay or,
with --table and --region, from a deployed inventory table (AWS credentials from the usual
SDK chain).

lineage ARN prints where a resource's data comes from (--upstream), where it flows
(--downstream), or both (the default), with each node's sensitivity. ARN may also be an S3
location (s3://bucket/prefix). Same stores as agent.

sweep runs the GPU utilization sweep's synthesized state machine locally over a recorded
inventory and recorded metric data (formats in docs/gpu-sweep.md; examples built from a real
H200 trace in test/fixtures/sweep) and prints each resource's verdict, and the remediation in dry
run: what it would do about idle resources tagged ai-visibility:idle-action (an inventory
resource may carry its "tags") once they are idle --idle-sweeps N sweeps in a row (default 3).

discover lists the AI resources of a real account in REGION (Bedrock, Bedrock agents,
AgentCore, SageMaker, EC2 accelerator instances; read-only List/Get/Describe calls) with the
credentials of the usual SDK chain (--profile, AWS_PROFILE, environment, SSO), and records them
in the local store as the deployed listing would: evidence, configuration, lineage, findings,
drift. Progress goes to stderr; an API the credentials may not call is reported, not fatal.

backfill starts the deployed history import (the stack with agentTrail.bucketName) over the
trail's log objects under --prefix delivered from --from to --to, and follows it: the objects
read and failed as a bar on stderr, the result on stdout. --resume redrives a failed run (only
its failed batches run again).

exit codes: 0 done; 3 done, something quarantined (discover: some API could not be listed);
1 failure; 2 usage error`;

export async function main(argv: string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        'batch-size': { type: 'string' },
        'allow-quarantine': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        store: { type: 'string', default: DEFAULT_STORE },
        table: { type: 'string' },
        region: { type: 'string' },
        upstream: { type: 'boolean', default: false },
        downstream: { type: 'boolean', default: false },
        inventory: { type: 'string' },
        metrics: { type: 'string' },
        'max-file-mb': { type: 'string' },
        notifications: { type: 'string' },
        digest: { type: 'boolean' },
        'idle-sweeps': { type: 'string' },
        'agent-capture': { type: 'string' },
        'store-transport': { type: 'string' },
        'look-back-minutes': { type: 'string' },
        'read-threads': { type: 'string' },
        profile: { type: 'string' },
        bucket: { type: 'string' },
        prefix: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'state-machine': { type: 'string' },
        resume: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    err(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const [command, ...paths] = parsed.positionals;
  if (parsed.values.help || command === 'help') {
    out(`${USAGE}\n`);
    return 0;
  }
  if (command === 'agent') return agentCommand(paths, parsed.values, out, err);
  if (command === 'discover') return discoverCommand(paths, parsed.values, out, err);
  if (command === 'backfill') return backfillCommand(paths, parsed.values, out, err);
  if (command === 'lineage') return lineageCommand(paths, parsed.values, out, err);
  if (command === 'sweep') {
    // A sweep keeps its table only in a store named on the command line (the replay's, to sweep its GPU instances too).
    const storeGiven = argv.some((a) => a === '--store' || a.startsWith('--store='));
    return sweepCommand(paths, { ...parsed.values, store: storeGiven ? parsed.values.store : undefined }, out, err);
  }
  if (command !== 'replay') {
    err(`${command ? `unknown command "${command}"` : 'missing command'}\n\n${USAGE}\n`);
    return 2;
  }
  const batchSize = parsed.values['batch-size'] === undefined ? undefined : Number(parsed.values['batch-size']);
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)) {
    err(`--batch-size must be a whole number from 1 to 10000\n`);
    return 2;
  }

  const maxFileMb = parsed.values['max-file-mb'] === undefined ? undefined : Number(parsed.values['max-file-mb']);
  if (maxFileMb !== undefined && (!Number.isInteger(maxFileMb) || maxFileMb < 1 || maxFileMb > 4_096)) {
    err(`--max-file-mb must be a whole number from 1 to 4096\n`);
    return 2;
  }
  const agentCapture = parsed.values['agent-capture'];
  if (agentCapture !== undefined && agentCapture !== 'trail' && agentCapture !== 'rules') {
    err(`--agent-capture must be trail or rules\n`);
    return 2;
  }
  const transport = parsed.values['store-transport'];
  if (transport !== undefined && transport !== 'in-process' && transport !== 'http') {
    err(`--store-transport must be in-process or http\n`);
    return 2;
  }
  const lookBack = parsed.values['look-back-minutes'] === undefined ? undefined : Number(parsed.values['look-back-minutes']);
  if (lookBack !== undefined && (!Number.isInteger(lookBack) || lookBack < 0 || lookBack > 1_440)) {
    err(`--look-back-minutes must be a whole number from 0 to 1440\n`);
    return 2;
  }
  const readThreads = parsed.values['read-threads'] === undefined ? undefined : Number(parsed.values['read-threads']);
  if (readThreads !== undefined && (!Number.isInteger(readThreads) || readThreads < 0 || readThreads > 16)) {
    err(`--read-threads must be a whole number from 0 to 16\n`);
    return 2;
  }
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) {
    err(`no such file or directory: ${missing.map((p) => printable(p)).join(', ')}\n`);
    return 2;
  }

  const notificationsFile = parsed.values.notifications;
  if (notificationsFile !== undefined && (notificationsFile === '' || !existsSync(dirname(resolve(notificationsFile))))) {
    err(`--notifications needs a file in an existing directory, got ${printable(JSON.stringify(notificationsFile))}\n`);
    return 2;
  }
  const notifications: string[] = [];

  // A machine reads --json piped, and CI logs need no bar.
  const progress = progressReporter({ write: err, now: Date.now, tty: process.stderr.isTTY === true, silent: Boolean(process.env.CI) || (Boolean(parsed.values.json) && process.stdout.isTTY !== true) });
  const skipped: Array<{ path: string; reason: string }> = [];
  const inputs = paths.length > 0 ? paths : [display(BUNDLED_SAMPLES)];
  const { replay } = await import('../local/replay/replay');
  const report = await withStoreErrors(err, () => replay(inputs, {
    batchSize,
    storePath: parsed.values.store,
    logLevel: parsed.values.verbose ? 'INFO' : 'ERROR',
    skipped,
    ...(maxFileMb ? { maxFileBytes: maxFileMb * 1024 * 1024 } : {}),
    ...(agentCapture ? { agentCapture } : {}),
    ...(transport ? { transport } : {}),
    ...(lookBack !== undefined ? { lookBackMinutes: lookBack } : {}),
    ...(readThreads !== undefined ? { readThreads } : {}),
    onWarning: (message: string) => err(`${message}\n`),
    ...(parsed.values.verbose ? { onReadThreads: (threads: number) => err(threads > 0 ? `reading in ${threads} thread(s) besides this one\n` : 'reading in this thread\n') } : {}),
    ...(parsed.values.digest ? { digest: true } : {}),
    ...(notificationsFile !== undefined
      ? {
          notify: (n: FindingNotification) => void notifications.push(JSON.stringify({ type: 'sns-publish', topic: LOCAL_FINDINGS_TOPIC, subject: n.subject, attributes: n.attributes, bodies: n.bodies })),
          securityHubBatch: (findings: ReadonlyArray<Record<string, unknown>>) => void notifications.push(JSON.stringify({ type: 'securityhub-batch', findings })),
        }
      : {}),
    onProgress: (p) => progress.update(p),
  }));
  progress.finish();
  if (!report) return 1;
  if (skipped.length > 0) {
    err(`skipped ${skipped.length} file(s) that are not log files${parsed.values.verbose ? ':' : ' (--verbose lists them)'}\n`);
    if (parsed.values.verbose) for (const s of skipped) err(`  ${printable(s.path)}: ${s.reason}\n`);
  }
  if (notificationsFile !== undefined) {
    try {
      writeFileSync(notificationsFile, notifications.map((l) => `${l}\n`).join(''));
    } catch (error) {
      err(`cannot write ${printable(notificationsFile)}: ${printable((error as Error).message)}\n`);
      return 1;
    }
    err(`${notifications.length} line(s) written to ${printable(notificationsFile)} (SNS messages and Security Hub batches)\n`);
  }
  if (report.stats.files === 0) err(`no log files under ${inputs.map((p) => printable(p)).join(', ')}\n`);
  const { renderReport } = await import('../local/replay/report');
  out(parsed.values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  if (report.digest && !parsed.values.json) for (const d of [report.digest.everything, ...report.digest.byOwner]) out(`\n${renderDigest(d).split('\n').map((line) => printable(line)).join('\n')}`);
  return report.quarantine.length > 0 && !parsed.values['allow-quarantine'] ? 3 : 0;
}

/** Run `work`; a store that cannot be used is one line on stderr and undefined, never a stack trace. */
/** Regions are lower-case words and digits joined by dashes (us-east-1, eu-central-2, us-gov-west-1). */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

async function discoverCommand(
  args: string[],
  options: { json?: boolean; store?: string; region?: string; profile?: string },
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  if (args.length > 0) {
    err(`discover takes no arguments, got ${JSON.stringify(args)}\n\n${USAGE}\n`);
    return 2;
  }
  if (!options.region || !REGION.test(options.region)) {
    err(`discover needs --region REGION (like us-east-1)${options.region ? `, got ${JSON.stringify(printable(options.region))}` : ''}\n`);
    return 2;
  }
  const { runDiscover, renderDiscover, DiscoverError } = await import('../local/discover/discover-command');
  const tty = !options.json && process.stderr.isTTY === true;
  let run;
  try {
    run = await withStoreErrors(err, () =>
      runDiscover({
        region: options.region!,
        profile: options.profile,
        store: options.store ?? DEFAULT_STORE,
        // A bar redrawn in place on a terminal; one line per API otherwise (logs, CI).
        progress: (line) => err(tty ? `\r${line}\u001b[K` : `${line}\n`),
      }),
    );
  } catch (error) {
    if (error instanceof DiscoverError) {
      err(`${printable(error.message)}\n`);
      return 1;
    }
    throw error;
  }
  if (tty) err('\n');
  if (!run) return 1;
  if (options.json) out(`${JSON.stringify(printableDeep({ schemaVersion: 1, discovery: { identity: run.identity, ...run.report } }), null, 2)}\n`);
  else out(printable(renderDiscover(run), true));
  return run.report.failedApis > 0 ? 3 : 0;
}

async function backfillCommand(
  args: string[],
  options: { json?: boolean; region?: string; profile?: string; bucket?: string; prefix?: string; from?: string; to?: string; 'state-machine'?: string; resume?: string },
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  const { backfillUsageProblem, runBackfill, BackfillError } = await import('../local/backfill/backfill-command');
  const o = { region: options.region, profile: options.profile, bucket: options.bucket, prefix: options.prefix, from: options.from, to: options.to, stateMachine: options['state-machine'], resume: options.resume };
  const problem = args.length > 0 ? `backfill takes no arguments, got ${JSON.stringify(args)}` : backfillUsageProblem(o);
  if (problem) {
    err(`${printable(problem)}\n`);
    return 2;
  }
  if (options.region !== undefined && !REGION.test(options.region)) {
    err(`--region must be a region name (like us-east-1), got ${JSON.stringify(printable(options.region))}\n`);
    return 2;
  }
  const tty = !options.json && process.stderr.isTTY === true;
  let run;
  try {
    run = await runBackfill({ ...o, progress: (line) => err(tty && line.startsWith('[') ? `\r${line}\u001b[K` : `${line}\n`) });
  } catch (error) {
    if (error instanceof BackfillError) {
      if (tty) err('\n');
      err(`${printable(error.message)}\n`);
      return 1;
    }
    throw error;
  }
  if (tty) err('\n');
  if (options.json) out(`${JSON.stringify(printableDeep({ schemaVersion: 1, backfill: run }), null, 2)}\n`);
  else {
    const lines = [`History import ${run.executionArn}: ${run.status}`, `  log objects: ${run.objects.total} listed, ${run.objects.succeeded} read, ${run.objects.failed} failed`];
    if (run.error) lines.push(`  ${run.error}: ${run.cause ?? ''}`, `  resume with: ai-visibility backfill --resume ${run.executionArn}`);
    out(`${printable(lines.join('\n'), true)}\n`);
  }
  return run.status === 'SUCCEEDED' ? 0 : 1;
}

async function withStoreErrors<T>(err: (text: string) => void, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StoreError) {
      err(`${printable(error.message)}\n`);
      return undefined;
    }
    throw error;
  }
}

/**
 * What went wrong reaching a deployed table, in one line, for the mistakes a user makes (no
 * credentials, a wrong table or region, no network); undefined for anything else (a bug).
 */
export function awsProblem(error: unknown, table: string, region: string): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { name, message } = error;
  const code = (error as { code?: unknown }).code;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return 'no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or sign in with `aws sso login`';
  }
  if (name === 'ResourceNotFoundException') return `no table ${table} in ${region}: check --table and --region (the stack's InventoryTableName output)`;
  if (['UnrecognizedClientException', 'InvalidSignatureException', 'ExpiredTokenException', 'ExpiredToken', 'AccessDeniedException'].includes(name)) {
    return `AWS refused the request (${name}): ${message.split('\n')[0]}`;
  }
  const network = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH)\b/.exec(`${String(code)} ${message}`)?.[1] ?? (name === 'TimeoutError' ? name : undefined);
  if (network) return `cannot reach DynamoDB in ${region} (${network}): check the region and the network`;
  if ((error as { $metadata?: unknown }).$metadata !== undefined) return `DynamoDB answered ${name}: ${message.split('\n')[0]}`;
  return undefined;
}

/** ARNs are at most 2,048 characters (IAM and the services' quotas); a longer argument is a mistake. */
const MAX_ARN = 2_048;

/** Run `read` against a deployed table (--table/--region) or the local store; undefined after reporting why not. */
async function withTable<T>(
  options: { store?: string; table?: string; region?: string },
  err: (text: string) => void,
  read: (client: DynamoDBDocumentClient, table: string) => Promise<T>,
): Promise<T | undefined> {
  if (options.table) {
    const [{ DynamoDBClient }, { DynamoDBDocumentClient }] = await Promise.all([import('@aws-sdk/client-dynamodb'), import('@aws-sdk/lib-dynamodb')]);
    const client = new DynamoDBClient({ region: options.region, maxAttempts: 3 });
    try {
      return await read(DynamoDBDocumentClient.from(client), options.table);
    } catch (error) {
      const line = awsProblem(error, options.table, options.region ?? '');
      if (!line) throw error;
      err(`${printable(line)}\n`);
      return undefined;
    } finally {
      client.destroy();
    }
  }
  const store = options.store ?? DEFAULT_STORE;
  if (!existsSync(store)) {
    err(`no local store at ${store}: run \`ai-visibility replay\` first, or give --table and --region\n`);
    return undefined;
  }
  const { startLocalDynamoDb } = await import('../local/replay/local-dynamodb');
  const db = await withStoreErrors(err, () => startLocalDynamoDb({ path: store }));
  if (!db) return undefined;
  try {
    if (!(await db.hasTable(LOCAL_TABLE_NAME))) {
      err(`the store at ${store} holds no replay: run \`ai-visibility replay\` first (a replay whose input no capture rule takes records nothing)\n`);
      return undefined;
    }
    return await read(db.documents, LOCAL_TABLE_NAME);
  } finally {
    await db.close();
  }
}

async function lineageCommand(
  args: string[],
  options: { json?: boolean; store?: string; table?: string; region?: string; upstream?: boolean; downstream?: boolean },
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  if (args.length !== 1 || !/^(arn:|urn:ai-visibility:|s3:\/\/|https:\/\/)/.test(args[0])) {
    err(`lineage takes one ARN or S3 location\n\n${USAGE}\n`);
    return 2;
  }
  if (args[0].length > MAX_ARN) {
    err(`the ARN is ${args[0].length} characters; ARNs and S3 locations are at most ${MAX_ARN}\n`);
    return 2;
  }
  if (options.upstream && options.downstream) {
    err('give --upstream or --downstream, not both (neither shows both)\n');
    return 2;
  }
  if (options.table !== undefined && !options.region) {
    err('--table needs --region\n');
    return 2;
  }
  const both = !options.upstream && !options.downstream;
  const { readLineage, renderLineage } = await import('../local/query/lineage');
  const result = await withTable(options, err, (client, table) => readLineage(client, table, args[0], { upstream: both || !!options.upstream, downstream: both || !!options.downstream }));
  if (!result) return 1;
  if (options.json) {
    out(`${JSON.stringify({ schemaVersion: 1, node: result.node, known: result.known, ...(result.upstream ? { upstream: result.upstream } : {}), ...(result.downstream ? { downstream: result.downstream } : {}), nodes: result.nodes, truncated: result.truncated }, null, 2)}\n`);
  } else {
    out(renderLineage(result));
  }
  return result.known ? 0 : 1;
}

async function sweepCommand(
  args: string[],
  options: { json?: boolean; store?: string; inventory?: string; metrics?: string; verbose?: boolean; 'idle-sweeps'?: string },
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  if (args.length > 0 || !options.inventory || !options.metrics) {
    err(`sweep takes --inventory FILE and --metrics FILE\n\n${USAGE}\n`);
    return 2;
  }
  const idleSweeps = options['idle-sweeps'] === undefined ? undefined : Number(options['idle-sweeps']);
  if (idleSweeps !== undefined && (!Number.isInteger(idleSweeps) || idleSweeps < 1 || idleSweeps > 999)) {
    err(`--idle-sweeps takes a whole number from 1 to 999, got ${JSON.stringify(options['idle-sweeps'])}\n`);
    return 2;
  }
  const { runLocalSweep, SweepInputError } = await import('../local/sweep/local-sweep');
  let result;
  try {
    result = await runLocalSweep(options.inventory, options.metrics, { storePath: options.store, logLevel: options.verbose ? 'INFO' : 'ERROR', idleSweeps });
  } catch (error) {
    if (error instanceof SweepInputError || error instanceof StoreError) {
      err(`${printable(error.message)}\n`);
      return 1;
    }
    throw error;
  }
  // A target that failed is a failed sweep, whatever was printed.
  const code = result.summary.failedTargets.length > 0 ? 1 : 0;
  if (code) err(`${result.summary.failedTargets.length} account-region(s) failed: ${result.summary.failedTargets.map((f) => printable(`${f.account}/${f.region}: ${f.error}`)).join('; ')}\n`);
  if (options.json) {
    out(`${JSON.stringify({ schemaVersion: 1, sweep: { targets: result.verdicts.length, verdicts: result.verdicts, summary: result.summary, remediation: result.remediation }, events: result.events }, null, 2)}\n`);
    return code;
  }
  const summary = printableDeep(result.summary);
  const verdicts = printableDeep(result.verdicts);
  const lines = [
    `GPU sweep ${summary.sweepId}: ${summary.window.start} to ${summary.window.end}, ${summary.targets} account-region(s), ${verdicts.length} resource(s)`,
    `  ${Object.entries(summary.verdicts).map(([v, n]) => `${v} ${n}`).join(', ')}; ${summary.idleAccelerators} idle accelerator(s), about $${summary.wastedPerHour.toFixed(2)} an hour wasted`,
    `  ${summary.metricQueries} metric queries in ${summary.getMetricDataCalls} GetMetricData call(s)${summary.failedTargets.length ? `; failed: ${summary.failedTargets.map((f) => `${f.account}/${f.region} (${f.error})`).join(', ')}` : ''}`,
    '',
  ];
  for (const v of verdicts) {
    lines.push(`  ${v.verdict.padEnd(17)} ${v.kind.padEnd(22)} ${v.resource}`, `      ${[v.gpuUtilization === null ? null : `GPU ${v.gpuUtilization}%`, v.gpuMemoryUsedPct === null ? null : `memory ${v.gpuMemoryUsedPct}%`, v.wastedPerHour ? `$${v.wastedPerHour.toFixed(2)}/h wasted` : null, ...v.evidence].filter(Boolean).join('; ')}`);
  }
  const { planned, pending } = printableDeep(result.remediation);
  if (planned.length || pending.length) lines.push('', `  remediation (dry run, after ${result.remediation.idleSweeps} consecutive idle sweeps):`);
  for (const p of planned) lines.push(`    would ${p.action === 'notify' ? 'notify about' : p.action === 'stop-instance' ? 'stop the instance' : 'stop the notebook'} ${p.resource}: ${p.why}${p.undo ? `; undo: ${p.undo}` : ''}${p.notifyOnly ? `; notify only: ${p.notifyOnly}` : ''}`);
  for (const p of pending) lines.push(`    ${p.resource} (idle-action=${p.idleAction}): idle ${p.idleSweeps} of ${result.remediation.idleSweeps} sweeps`);
  out(`${lines.join('\n')}\n`);
  return code;
}

async function agentCommand(
  args: string[],
  options: { json?: boolean; store?: string; table?: string; region?: string },
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  if (args.length !== 1 || !args[0].startsWith('arn:')) {
    err(`agent takes one principal ARN\n\n${USAGE}\n`);
    return 2;
  }
  if (args[0].length > MAX_ARN) {
    err(`the ARN is ${args[0].length} characters; ARNs are at most ${MAX_ARN}\n`);
    return 2;
  }
  if (options.table !== undefined && !options.region) {
    err('--table needs --region\n');
    return 2;
  }
  const { readAgent, renderAgent } = await import('../local/query/agents');
  const result = await withTable(options, err, (client, table) => readAgent(client, table, args[0]));
  if (!result) return 1;
  out(options.json ? `${JSON.stringify({ schemaVersion: 1, agent: result.agent ?? null, actions: result.actions }, null, 2)}\n` : renderAgent(args[0], result.agent, result.actions));
  return result.agent ? 0 : 1;
}

/**
 * Run the command line in this process: stdout is reserved for the command's own output (anything
 * else that writes to it goes to stderr), and the exit code is set when it ends.
 */
export function runCli(argv: readonly string[]): void {
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(
    [...argv],
    (text) => void stdoutWrite(text),
    (text) => void process.stderr.write(text),
  ).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`ai-visibility: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) runCli(process.argv.slice(2));
