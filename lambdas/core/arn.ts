/**
 * ARNs: parse them, build them from the ids and names events carry, map an ARN's resource
 * type to an inventory kind, and name principals canonically.
 *
 * Quirks handled here, from the service docs:
 * - SageMaker lower-cases resource names in ARNs (`ExampleEndpoint` -> `endpoint/exampleendpoint`);
 *   delete events carry only the name, so ARNs built from names must be lower-cased to meet the
 *   ARN the create event returned.
 * - Foundation models are AWS-owned: their ARN has no account (`arn:aws:bedrock:us-east-1::foundation-model/...`).
 * - Bedrock `modelId` may be a model id, a cross-region inference profile id (`us.anthropic...`),
 *   or the ARN of a custom/imported model, provisioned throughput or inference profile.
 */
import type { ResourceKind } from './model';
import { own } from './own';

/** Where an ARN is built: the partition, region and account of the event that names the resource. */
export interface Place {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

export interface ParsedArn {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resourceType: string;
  readonly resourceId: string;
}

// The account field is taken as written: public samples redact it (`XXXXXXXXXXXX`).
const ARN = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):([^:]*):(.+)$/;

export function parseArn(arn: string): ParsedArn | undefined {
  const m = ARN.exec(arn);
  if (!m) return undefined;
  const [, partition, service, region, account, resource] = m;
  const slash = resource.indexOf('/');
  const colon = resource.indexOf(':');
  const cut = slash === -1 ? colon : colon === -1 ? slash : Math.min(slash, colon);
  return cut === -1
    ? { partition, service, region, account, resourceType: resource, resourceId: '' }
    : { partition, service, region, account, resourceType: resource.slice(0, cut), resourceId: resource.slice(cut + 1) };
}

const KIND_BY_ARN_TYPE: Record<string, Record<string, ResourceKind>> = {
  bedrock: {
    'foundation-model': 'foundation-model',
    'custom-model': 'custom-model',
    'imported-model': 'imported-model',
    'model-import-job': 'model-import-job',
    'model-customization-job': 'customization-job',
    'provisioned-model': 'provisioned-throughput',
    'inference-profile': 'inference-profile',
    'application-inference-profile': 'inference-profile',
    guardrail: 'guardrail',
    agent: 'agent',
    'agent-alias': 'agent-alias',
    'knowledge-base': 'knowledge-base',
    flow: 'flow',
    'model-invocation-job': 'batch-inference-job',
    prompt: 'prompt',
    'foundation-model-agreement': 'model-agreement',
    'enforced-guardrail-configuration': 'enforced-guardrail-config',
  },
  'bedrock-agentcore': {
    runtime: 'agent-runtime',
    gateway: 'agent-gateway',
    memory: 'agent-memory',
    'workload-identity-directory': 'agent-identity',
  },
  // Not an IAM resource type: ai-visibility's identifier for a service-specific credential, which has no ARN.
  iam: {
    'bedrock-api-key': 'bedrock-api-key',
  },
  sagemaker: {
    'notebook-instance': 'notebook',
    'training-job': 'training-job',
    'processing-job': 'processing-job',
    'transform-job': 'transform-job',
    model: 'model',
    'endpoint-config': 'endpoint-config',
    endpoint: 'inference-endpoint',
    domain: 'studio-domain',
  },
};

/**
 * The inventory kind and canonical ARN of an AI resource ARN, or undefined for anything else.
 * Sub-resources collapse to the resource they belong to (a flow alias to its flow, a gateway
 * target to its gateway), so every event about a thing lands on one inventory item.
 */
export function kindOfArn(arn: string): { kind: ResourceKind; arn: string; parsed: ParsedArn } | undefined {
  const parsed = parseArn(arn);
  if (!parsed) return undefined;
  const byType = own(KIND_BY_ARN_TYPE, parsed.service);
  const kind = byType ? own(byType, parsed.resourceType) : undefined;
  if (!kind || !parsed.resourceId) return undefined;
  const prefix = `arn:${parsed.partition}:${parsed.service}:${parsed.region}:${parsed.account}:${parsed.resourceType}`;
  let id = parsed.resourceId;
  if (kind === 'flow' || kind === 'agent-gateway' || kind === 'agent-runtime' || kind === 'agent-memory' || kind === 'knowledge-base' || kind === 'guardrail') {
    id = id.split('/')[0];
  }
  if (kind === 'agent') id = id.split('/')[0];
  if (kind === 'guardrail' || kind === 'prompt') id = id.split(':')[0];
  // SageMaker resource names are case-insensitive and its ARNs are written lower-case.
  if (parsed.service === 'sagemaker') id = id.toLowerCase();
  return { kind, arn: `${prefix}/${id}`, parsed };
}

export function bedrockArn(event: Place, type: string, id: string): string {
  return `arn:${event.partition}:bedrock:${event.region}:${event.account}:${type}/${id}`;
}

export function agentCoreArn(event: Place, type: string, id: string): string {
  return `arn:${event.partition}:bedrock-agentcore:${event.region}:${event.account}:${type}/${id}`;
}

export function sageMakerArn(event: Place, type: string, name: string): string {
  return `arn:${event.partition}:sagemaker:${event.region}:${event.account}:${type}/${name.toLowerCase()}`;
}

/**
 * A long-term Bedrock API key (an IAM service-specific credential has no ARN of its own): the
 * account's, named by its user and credential id. IAM is global, so no region.
 */
export function bedrockApiKeyArn(partition: string, account: string, userName: string, credentialId: string): string {
  return `arn:${partition}:iam::${account}:bedrock-api-key/${userName}/${credentialId}`;
}

export function ec2InstanceArn(event: Place, instanceId: string): string {
  return `arn:${event.partition}:ec2:${event.region}:${event.account}:instance/${instanceId}`;
}

export function s3BucketArn(event: Place, bucket: string): string {
  return `arn:${event.partition}:s3:::${bucket}`;
}

/** `id` if it is already an ARN of the expected type, else the ARN built from the id. */
export function arnOrBuild(idOrArn: string, build: (id: string) => string): string {
  return idOrArn.startsWith('arn:') ? idOrArn : build(idOrArn);
}

const INFERENCE_PROFILE_GEO = /^(us|eu|apac|us-gov|jp|au|ca|global)\./;

/** Resolve a Bedrock `modelId` (id, profile id or ARN) to the resource it names. */
export function resolveModelId(event: Place, modelId: string): { kind: ResourceKind; arn: string } | undefined {
  if (modelId.startsWith('arn:')) {
    const known = kindOfArn(modelId);
    return known ? { kind: known.kind, arn: known.arn } : undefined;
  }
  if (INFERENCE_PROFILE_GEO.test(modelId)) {
    return { kind: 'inference-profile', arn: bedrockArn(event, 'inference-profile', modelId) };
  }
  return { kind: 'foundation-model', arn: `arn:${event.partition}:bedrock:${event.region}::foundation-model/${modelId}` };
}

const IAM_ENTITY = /^arn:([^:]+):iam::([^:]*):(role|user)\/(?:[^/]*\/)*([^/]+)$/;

/**
 * The canonical ARN of an IAM role or user, without its path: names are unique in an account
 * whatever the path, and the events that name a principal do so with its path (sessionIssuer,
 * CreateAgent), without it (an STS session) or by name alone (TagRole). Other ARNs are returned
 * as they are. The exact IAM ARN is kept beside it as `iamArn`.
 */
export function canonicalPrincipal(arn: string): string {
  const m = IAM_ENTITY.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:${m[3]}/${m[4]}` : arn;
}

/** The role ARN behind an STS assumed-role session ARN (the path is not in it; the sessionIssuer has it). */
export function roleOfSession(arn: string): string | undefined {
  const m = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : undefined;
}

/**
 * The IAM role or user that carries a principal's tags, canonical (no path): the role behind a
 * session, the role or user itself; undefined for what IAM cannot tag (root, a web identity).
 */
export function taggedPrincipalOf(arn: string): string | undefined {
  const role = roleOfSession(arn);
  if (role) return role;
  const canonical = canonicalPrincipal(arn);
  return IAM_ENTITY.test(canonical) ? canonical : undefined;
}

/** The account an ARN (or an `urn:ai-visibility:<type>:<account>:...` identifier) belongs to, or `unknown`. */
export function accountOfArn(arn: string): string {
  return parseArn(arn)?.account || /^urn:ai-visibility:[^:]+:(\d{12})/.exec(arn)?.[1] || 'unknown';
}

/** The partition a region belongs to (AWS General Reference, "Partitions"): cn-* is aws-cn, us-gov-* aws-us-gov, and so on. */
export function partitionOfRegion(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eusc-')) return 'aws-eusc';
  return 'aws';
}
