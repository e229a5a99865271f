/**
 * The functions as deployed: the stack synthesized with real esbuild bundling, each function's
 * bundle measured (its size, the SDK clients in it, and the time `require` of it takes in a fresh
 * Node process, median of several), against a baseline bundle of only the SDK clients its handler
 * calls, built with the same esbuild options. `BENCH_ONLY=functions npm run bench` runs it alone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildSync } from 'esbuild';
import { AiVisibilityStack } from '../../lib/stacks/ai-visibility-stack';
import { readConfig } from '../../lib/config';

/**
 * The SDK clients each handler calls (value imports that reach a `send`), by the logical id the
 * function's name starts with (longest match wins).
 */
export const CLIENTS_CALLED: Record<string, { readonly eager: readonly string[] }> = {
  // The tag lookups (lambdas/shared/tag-lookup.ts) make their clients on first use; they are the handler's clients all the same. Only the classifier looks up principals (IAM).
  // Organization mode's AssumeRole (lambdas/shared/member-credentials.ts) loads the STS client on first use, in every function that acts or looks up in member accounts.
  // The classifier reads guardrail versions (lambdas/shared/guardrail-reader.ts) with the Bedrock client.
  Classifier: { eager: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sqs', '@aws-sdk/client-resource-groups-tagging-api', '@aws-sdk/client-iam', '@aws-sdk/client-sts', '@aws-sdk/client-bedrock'] },
  Lineage: { eager: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sqs', '@aws-sdk/client-s3', '@aws-sdk/client-resource-groups-tagging-api', '@aws-sdk/client-sts'] },
  ChangeFeed: { eager: ['@aws-sdk/client-eventbridge', '@aws-sdk/util-dynamodb', '@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-resource-groups-tagging-api', '@aws-sdk/client-sts'] },
  AgentCaptureSync: { eager: ['@aws-sdk/client-eventbridge', '@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb'] },
  GpuSweepFunction: { eager: ['@aws-sdk/client-eventbridge', '@aws-sdk/client-organizations'] },
  Notifications: { eager: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sns'] },
  NotificationsDigest: { eager: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sns', '@aws-sdk/client-sqs'] },
  Tagger: { eager: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-resource-groups-tagging-api', '@aws-sdk/client-bedrock', '@aws-sdk/client-bedrock-agent', '@aws-sdk/client-bedrock-agentcore-control', '@aws-sdk/client-s3', '@aws-sdk/client-sts'] },
  SecurityHubExport: { eager: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-securityhub'] },
  Discovery: { eager: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-sqs', '@aws-sdk/client-bedrock', '@aws-sdk/client-bedrock-agent', '@aws-sdk/client-bedrock-agentcore-control', '@aws-sdk/client-sagemaker', '@aws-sdk/client-ec2', '@aws-sdk/client-organizations', '@aws-sdk/client-sts'] },
  LookupHistory: { eager: ['@aws-sdk/client-cloudtrail', '@aws-sdk/client-sqs', '@aws-sdk/client-organizations', '@aws-sdk/client-sts'] },
  HistoryImport: { eager: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-sqs'] },
  TrailReader: { eager: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-s3', '@aws-sdk/client-sqs'] },
  GpuSweepTargetFunction: { eager: ['@aws-sdk/client-ec2', '@aws-sdk/client-sagemaker', '@aws-sdk/client-bedrock', '@aws-sdk/client-cloudwatch', '@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-eventbridge', '@aws-sdk/client-resource-groups-tagging-api', '@aws-sdk/client-sts'] },
};

/** What the baseline imports of each package: its client, or the helper the handler uses. */
const BASELINE_USE: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'DynamoDBClient',
  '@aws-sdk/lib-dynamodb': 'DynamoDBDocumentClient',
  '@aws-sdk/util-dynamodb': 'unmarshall',
  '@aws-sdk/client-sqs': 'SQSClient',
  '@aws-sdk/client-s3': 'S3Client',
  '@aws-sdk/client-eventbridge': 'EventBridgeClient',
  '@aws-sdk/client-ec2': 'EC2Client',
  '@aws-sdk/client-sagemaker': 'SageMakerClient',
  '@aws-sdk/client-bedrock': 'BedrockClient',
  '@aws-sdk/client-cloudwatch': 'CloudWatchClient',
  '@aws-sdk/client-sns': 'SNSClient',
  '@aws-sdk/client-securityhub': 'SecurityHubClient',
  '@aws-sdk/client-resource-groups-tagging-api': 'ResourceGroupsTaggingAPIClient',
  '@aws-sdk/client-bedrock-agent': 'BedrockAgentClient',
  '@aws-sdk/client-organizations': 'OrganizationsClient',
  '@aws-sdk/client-sts': 'STSClient',
  '@aws-sdk/client-bedrock-agentcore-control': 'BedrockAgentCoreControlClient',
  '@aws-sdk/client-iam': 'IAMClient',
  '@aws-sdk/client-cloudtrail': 'CloudTrailClient',
};

export interface FunctionBundle {
  readonly name: string;
  readonly bytes: number;
  readonly loadMs: number;
  readonly clients: string[];
  readonly baselineBytes: number;
  readonly baselineLoadMs: number;
  /** The bundle's load time over the baseline's. */
  readonly ratio: number;
}

/** Median time `require(file)` takes in a fresh Node process. */
/**
 * Median require time of a bundle and of its baseline, each in a fresh Node process, the two run
 * alternately: a burst of load on the machine slows both alike, so their ratio holds steadier
 * than two medians taken one after the other.
 */
function loadMs(file: string, baseline: string, runs = 21): { loadMs: number; baselineLoadMs: number } {
  const time = (f: string) => {
    const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(f)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
    return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } }));
  };
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(time(file));
    b.push(time(baseline));
  }
  const median = (x: number[]) => x.sort((p, q) => p - q)[Math.floor(runs / 2)];
  return { loadMs: median(a), baselineLoadMs: median(b) };
}

/** The @aws-sdk packages whose code a bundle holds (from its minified text: each client names its package in its user agent). */
function sdkPackagesIn(code: string): string[] {
  return [...new Set([...code.matchAll(/@aws-sdk\/(client-[a-z0-9-]+)/g)].map((m) => `@aws-sdk/${m[1]}`))].sort();
}

export function measureFunctions(): FunctionBundle[] {
  const dir = mkdtempSync(join(tmpdir(), 'ai-visibility-bench-functions-'));
  try {
    const app = new App({ outdir: join(dir, 'cdk.out') });
    // The default stack and the trail reader (on when a trail bucket is configured).
    new AiVisibilityStack(app, 'AiVisibility', { config: readConfig({ agentTrail: { bucketName: 'bench-trail-logs' } }) });
    const assembly = app.synth();
    const template = assembly.getStackByName('AiVisibility').template as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: unknown } } }> };
    const out: FunctionBundle[] = [];
    for (const [id, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::Lambda::Function') continue;
      const name = Object.keys(CLIENTS_CALLED).filter((n) => id.startsWith(n)).sort((a, b) => b.length - a.length)[0];
      if (!name) throw new Error(`no client list for function ${id}: add it to CLIENTS_CALLED`);
      const hash = JSON.stringify(r.Properties.Code?.S3Key).slice(1, 65);
      const bundle = join(assembly.directory, `asset.${hash}`, 'index.js');
      // The baseline: a bundle that makes one client of each package the handler calls.
      const entry = join(dir, `${name}-baseline.mjs`);
      const uses = CLIENTS_CALLED[name].eager;
      writeFileSync(entry, uses.map((p, i) => `import { ${BASELINE_USE[p]} as c${i} } from '${p}';\n`).join('') + `export const made = [${uses.map((p, i) => (p.includes('/client-') ? `new c${i}({})` : `c${i}`)).join(', ')}];\n`);
      const baseline = join(dir, `${name}-baseline.js`);
      buildSync({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node24', minify: true, mainFields: ['module', 'main'], outfile: baseline, absWorkingDir: join(__dirname, '..', '..'), nodePaths: [join(__dirname, '..', '..', 'node_modules')], logLevel: 'error' });
      const measured = { bytes: statSync(bundle).size, baselineBytes: statSync(baseline).size, ...loadMs(bundle, baseline) };
      out.push({ name, ...measured, clients: sdkPackagesIn(readFileSync(bundle, 'utf8')), ratio: measured.loadMs / measured.baselineLoadMs });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printFunctions(bundles: readonly FunctionBundle[]): void {
  console.log('\n  Function bundles (real synth, esbuild; require time in a fresh Node process, median of 21):');
  for (const b of bundles) {
    console.log(
      `    ${b.name.padEnd(18)} ${String(Math.round(b.bytes / 1024)).padStart(5)} KB  ${b.loadMs.toFixed(0).padStart(4)} ms   baseline (its eager clients only) ${String(Math.round(b.baselineBytes / 1024)).padStart(5)} KB ${b.baselineLoadMs.toFixed(0).padStart(4)} ms   ratio ${b.ratio.toFixed(2)}   clients: ${b.clients.map((c) => c.replace('@aws-sdk/', '')).join(', ')}`,
    );
  }
}
