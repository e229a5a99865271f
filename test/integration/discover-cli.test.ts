/**
 * `ai-visibility discover`, in-process: without credentials it says so in one line (the real SDK
 * credential chain, pointed at empty config files, with the instance metadata service off); with
 * credentials it lists (aws-sdk-client-mock answering STS GetCallerIdentity and the listing APIs
 * with their documented shapes) into the local store the `lineage` command then reads.
 */
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { BedrockClient, GetGuardrailCommand, ListGuardrailsCommand } from '@aws-sdk/client-bedrock';
import { BedrockAgentClient, GetDataSourceCommand, GetKnowledgeBaseCommand, ListDataSourcesCommand, ListKnowledgeBasesCommand, ListPromptsCommand } from '@aws-sdk/client-bedrock-agent';
import { BedrockAgentCoreControlClient } from '@aws-sdk/client-bedrock-agentcore-control';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { LISTERS } from '../../lambdas/discovery/listers';
import { progressBar } from '../../local/discover/discover-command';
import { cliRunner, useTempDirs } from '../support';

const temp = useTempDirs();
const A = '111122223333';
const KB = `arn:aws:bedrock:us-east-1:${A}:knowledge-base/KB12345678`;

describe('discover without credentials', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  function noCredentials() {
    const dir = temp.dir();
    writeFileSync(join(dir, 'config'), '');
    writeFileSync(join(dir, 'credentials'), '');
    for (const k of Object.keys(process.env)) if (/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|CONTAINER_|WEB_IDENTITY|ROLE_ARN)/.test(k)) delete process.env[k];
    process.env.AWS_CONFIG_FILE = join(dir, 'config');
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    return dir;
  }

  it('says there are no credentials, in one line, and exits 1 without touching the store', async () => {
    const dir = noCredentials();
    const store = join(dir, 'store');
    const { code, stdout, stderr } = await cliRunner()('discover', '--region', 'us-east-1', '--store', store);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('no AWS credentials: set AWS_PROFILE or pass --profile (or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or sign in with `aws sso login`\n');
    expect(existsSync(store)).toBe(false);
  });

  it('names the profile that does not exist', async () => {
    noCredentials();
    const { code, stderr } = await cliRunner()('discover', '--region', 'us-east-1', '--profile', 'no-such-profile', '--store', join(temp.dir(), 'store'));
    expect(code).toBe(1);
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(stderr).toMatch(/^no AWS credentials for profile "no-such-profile": .*aws sso login --profile no-such-profile/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a missing or malformed region before calling anything', async () => {
    expect(await cliRunner()('discover')).toMatchObject({ code: 2, stderr: 'discover needs --region REGION (like us-east-1)\n' });
    expect(await cliRunner()('discover', '--region', 'mars')).toMatchObject({ code: 2, stderr: 'discover needs --region REGION (like us-east-1), got "mars"\n' });
  });
});

describe('discover with credentials', () => {
  // Made here, not at collection: a mock made when the file loads would answer the tests above too.
  let mocks: ReturnType<typeof makeMocks>;
  const makeMocks = () => [mockClient(STSClient), mockClient(BedrockClient), mockClient(BedrockAgentClient), mockClient(BedrockAgentCoreControlClient), mockClient(SageMakerClient), mockClient(EC2Client)] as const;
  beforeAll(() => {
    mocks = makeMocks();
  });
  afterAll(() => mocks.forEach((m) => m.restore()));

  it('lists into the local store, reports progress on stderr and each refused API, and the lineage command reads what it wrote', async () => {
    const [sts, bedrock, agent, agentCore, sagemaker, ec2] = mocks;
    sts.on(GetCallerIdentityCommand).resolves({ Account: A, Arn: `arn:aws:sts::${A}:assumed-role/SecurityAudit/alice`, UserId: 'AROAEXAMPLE:alice' });
    bedrock.onAnyCommand().resolves({});
    agentCore.onAnyCommand().resolves({});
    sagemaker.onAnyCommand().resolves({});
    ec2.onAnyCommand().resolves({});
    agent.onAnyCommand().resolves({});
    bedrock.on(ListGuardrailsCommand).resolves({ guardrails: [{ id: 'gr1', arn: `arn:aws:bedrock:us-east-1:${A}:guardrail/gr1`, name: 'g', status: 'READY', version: 'DRAFT', createdAt: new Date('2025-01-01T00:00:00Z'), updatedAt: new Date('2025-01-01T00:00:00Z') }] });
    bedrock.on(GetGuardrailCommand).resolves({ guardrailId: 'gr1', guardrailArn: `arn:aws:bedrock:us-east-1:${A}:guardrail/gr1`, name: 'g', version: 'DRAFT', status: 'READY', createdAt: new Date('2025-01-01T00:00:00Z'), updatedAt: new Date('2025-01-01T00:00:00Z'), blockedInputMessaging: 'x', blockedOutputsMessaging: 'x' });
    agent.on(ListKnowledgeBasesCommand).resolves({ knowledgeBaseSummaries: [{ knowledgeBaseId: 'KB12345678', name: 'docs', status: 'ACTIVE', updatedAt: new Date('2025-01-01T00:00:00Z') }] });
    agent.on(GetKnowledgeBaseCommand).resolves({ knowledgeBase: { knowledgeBaseId: 'KB12345678', knowledgeBaseArn: KB, name: 'docs', roleArn: `arn:aws:iam::${A}:role/kb`, knowledgeBaseConfiguration: { type: 'VECTOR' }, status: 'ACTIVE', createdAt: new Date('2025-01-01T00:00:00Z'), updatedAt: new Date('2025-01-01T00:00:00Z') } });
    agent.on(ListDataSourcesCommand).resolves({ dataSourceSummaries: [{ knowledgeBaseId: 'KB12345678', dataSourceId: 'DS1', name: 'docs', status: 'AVAILABLE', updatedAt: new Date('2025-01-01T00:00:00Z') }] });
    agent.on(GetDataSourceCommand).resolves({ dataSource: { knowledgeBaseId: 'KB12345678', dataSourceId: 'DS1', name: 'docs', status: 'AVAILABLE', dataSourceConfiguration: { type: 'S3', s3Configuration: { bucketArn: 'arn:aws:s3:::support-docs-bucket' } }, createdAt: new Date('2025-01-01T00:00:00Z'), updatedAt: new Date('2025-01-01T00:00:00Z') } });
    agent.on(ListPromptsCommand).rejects(Object.assign(new Error('User is not authorized to perform: bedrock:ListPrompts'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }));

    const store = join(temp.dir(), 'store');
    const run = cliRunner({ store });
    const { code, stdout, stderr } = await run('discover', '--region', 'us-east-1');
    expect(code).toBe(3);
    expect(stdout).toContain(`Discovery of ${A} in us-east-1`);
    expect(stdout).toContain(`+ ${KB}`);
    expect(stdout).toContain('bedrock-agent:ListPrompts: AccessDeniedException: User is not authorized to perform: bedrock:ListPrompts');
    const progress = stderr.split('\n').filter(Boolean);
    expect(progress).toHaveLength(LISTERS.length);
    expect(progress.at(-1)).toMatch(new RegExp(`^\\[#{24}\\] ${LISTERS.length}/${LISTERS.length} `));
    expect(progress.find((l) => l.includes('ListPrompts'))).toMatch(/bedrock-agent:ListPrompts \(failed\)$/);

    const json = await run('discover', '--region', 'us-east-1', '--json');
    expect(JSON.parse(json.stdout).discovery).toMatchObject({ account: A, region: 'us-east-1', foundByListing: [], failedApis: 1 });

    const lineage = await run('lineage', KB, '--upstream', '--json');
    expect(lineage.code).toBe(0);
    expect(JSON.stringify(JSON.parse(lineage.stdout))).toContain('arn:aws:s3:::support-docs-bucket');
  });

  it('draws a progress bar', () => {
    expect(progressBar(0, 4, 'a', 8)).toBe('[--------] 0/4 a');
    expect(progressBar(2, 4, 'b', 8)).toBe('[####----] 2/4 b');
    expect(progressBar(4, 4, 'c', 8)).toBe('[########] 4/4 c');
  });
});
