/**
 * Findings in the AWS Security Finding Format (ASFF), for Security Hub's BatchImportFindings.
 * Pure: the exporter Lambda sends what this builds.
 *
 * Shaped by the documentation (Security Hub User Guide, "Required top-level ASFF attributes";
 * API Reference, BatchImportFindings):
 * - required: AwsAccountId, CreatedAt, Description, GeneratorId, Id, ProductArn, Resources,
 *   SchemaVersion ("2018-10-08"), Severity, Title, Types, UpdatedAt;
 * - a provider sets severity and types through FindingProviderFields (it should not update the
 *   top-level ones after creation); both are given at import;
 * - the default product ARN, `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`,
 *   imports only into the calling account: the finding's AwsAccountId must be the caller's;
 * - at most 100 findings and 6 MB a call, and 240 KB a finding.
 */
import type { FindingObservation, Severity } from './model';
import { redact } from './notifications';

export const ASFF_SCHEMA_VERSION = '2018-10-08';
export const BATCH_IMPORT_LIMITS = { findings: 100, bytes: 6 * 1024 * 1024, findingBytes: 240 * 1024 } as const;

/** What an ASFF finding is made from (a `Finding Recorded` event's finding, or a stored one). */
export type ExportedFinding = FindingObservation & { readonly findingId?: string };

const LABELS: Record<Severity, string> = { critical: 'CRITICAL', high: 'HIGH', medium: 'MEDIUM', low: 'LOW', informational: 'INFORMATIONAL' };

/** ASFF finding types ("namespace/category/classifier") by rule family. */
function typesOf(rule: string): string[] {
  if (rule.startsWith('agent-')) return ['TTPs/Privilege Escalation', 'Unusual Behaviors/Application'];
  if (rule.startsWith('gpu-')) return rule === 'gpu-launch-refused' ? ['TTPs/Impact/Resource Hijacking', 'Effects/Resource Consumption'] : ['Software and Configuration Checks/AWS Security Best Practices', 'Effects/Resource Consumption'];
  if (rule.startsWith('sensitive-') || rule === 'prompts-logged-to-weaker-store') return ['Sensitive Data Identifications/Data Exposure'];
  if (rule === 'invocation-logging-disabled' || rule.startsWith('guardrail-')) return ['TTPs/Defense Evasion', 'Software and Configuration Checks/AWS Security Best Practices'];
  return ['Software and Configuration Checks/AWS Security Best Practices'];
}

/** Security Hub resource types where one exists (ASFF "Resources"); `Other` otherwise. */
export function resourceTypeOf(arn: string): string {
  const m = /^arn:aws[a-z-]*:([a-z0-9-]+):[^:]*:\d*:(.+)$/.exec(arn);
  if (!m) return 'Other';
  const [, service, rest] = m;
  if (service === 'ec2' && rest.startsWith('instance/')) return 'AwsEc2Instance';
  if (service === 's3') return rest.includes('/') ? 'AwsS3Object' : 'AwsS3Bucket';
  if (service === 'iam' && rest.startsWith('role/')) return 'AwsIamRole';
  if (service === 'iam' && rest.startsWith('user/')) return 'AwsIamUser';
  if (service === 'lambda' && rest.startsWith('function:')) return 'AwsLambdaFunction';
  if (service === 'sagemaker' && rest.startsWith('notebook-instance/')) return 'AwsSageMakerNotebookInstance';
  return 'Other';
}

const hashOf = (text: string): string => {
  // FNV-1a, twice with different seeds: a short stable id without importing crypto into the core.
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  return `${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
};

/** The stable Security Hub Id of a rule on a resource in an account and region: a repeat updates the same finding. */
export const securityHubId = (f: Pick<ExportedFinding, 'rule' | 'account' | 'region' | 'resource'>): string => `ai-visibility/${f.account}/${f.region}/${f.rule}/${hashOf(f.resource)}`;

export const productArnOf = (partition: string, region: string, account: string): string => `arn:${partition}:securityhub:${region}:${account}:product/${account}/default`;

export interface AsffOptions {
  readonly partition: string;
  /** When the import happens (UpdatedAt). */
  readonly now: string;
  /** ARCHIVED when the resource is gone. @default ACTIVE */
  readonly recordState?: 'ACTIVE' | 'ARCHIVED';
}

/** ASFF strings: Title at most 256 characters, Description 1,024, ProductFields values 2,048 (API Reference, AwsSecurityFinding). */
const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

export function asffOf(f: ExportedFinding, options: AsffOptions): Record<string, unknown> {
  const label = LABELS[f.severity] ?? 'INFORMATIONAL';
  const types = typesOf(f.rule);
  const evidence = f.signals.map(redact).slice(0, 40);
  const productFields: Record<string, string> = {
    'ai-visibility/rule': f.rule,
    'ai-visibility/confidence': f.confidence,
    'ai-visibility/eventId': f.eventId,
    ...(f.findingId ? { 'ai-visibility/findingId': f.findingId } : {}),
    ...(f.principal ? { 'ai-visibility/principal': cut(f.principal, 2_048) } : {}),
  };
  evidence.forEach((s, i) => {
    productFields[`ai-visibility/evidence/${String(i + 1).padStart(2, '0')}`] = cut(`${s.eventName} ${s.path} = ${JSON.stringify(s.value)}`, 2_048);
  });
  return {
    SchemaVersion: ASFF_SCHEMA_VERSION,
    Id: securityHubId(f),
    ProductArn: productArnOf(options.partition, f.region, f.account),
    GeneratorId: f.rule,
    AwsAccountId: f.account,
    Types: types,
    CreatedAt: f.time,
    UpdatedAt: options.now,
    Severity: { Label: label },
    FindingProviderFields: { Severity: { Label: label, Original: f.severity }, Types: types },
    Title: cut(f.title, 256),
    Description: cut(f.summary, 1_024),
    Resources: [{ Type: resourceTypeOf(f.resource), Id: f.resource, Partition: options.partition, Region: f.region }],
    Compliance: { Status: 'WARNING', RelatedRequirements: f.frameworks.slice(0, 32).map((x) => cut(`${x.framework} ${x.id} ${x.name}`, 128)) },
    ProductFields: productFields,
    RecordState: options.recordState ?? 'ACTIVE',
    ...(options.recordState === 'ARCHIVED' ? {} : { Workflow: { Status: 'NEW' } }),
  };
}

/**
 * Split findings into BatchImportFindings calls within the limits. A finding over 240 KB loses
 * its evidence fields first; one still over the limit is left out, with its Id, for the caller to
 * count (never silently).
 */
export function importBatches(findings: ReadonlyArray<Record<string, unknown>>): { batches: Array<Array<Record<string, unknown>>>; tooLarge: string[] } {
  const size = (x: unknown) => Buffer.byteLength(JSON.stringify(x));
  const batches: Array<Array<Record<string, unknown>>> = [];
  const tooLarge: string[] = [];
  let current: Array<Record<string, unknown>> = [];
  let bytes = 2;
  for (const original of findings) {
    let finding = original;
    if (size(finding) > BATCH_IMPORT_LIMITS.findingBytes) {
      const fields = Object.fromEntries(Object.entries((finding.ProductFields ?? {}) as Record<string, string>).filter(([k]) => !k.startsWith('ai-visibility/evidence/')));
      finding = { ...finding, ProductFields: { ...fields, 'ai-visibility/evidence': 'omitted: the finding was over 240 KB' } };
      if (size(finding) > BATCH_IMPORT_LIMITS.findingBytes) {
        tooLarge.push(String(finding.Id));
        continue;
      }
    }
    const n = size(finding) + 1;
    if (current.length === BATCH_IMPORT_LIMITS.findings || bytes + n > BATCH_IMPORT_LIMITS.bytes) {
      batches.push(current);
      current = [];
      bytes = 2;
    }
    current.push(finding);
    bytes += n;
  }
  if (current.length) batches.push(current);
  return { batches, tooLarge };
}
