/**
 * The tagger's decisions: which `ai-visibility:*` tags a classified resource should carry, which
 * API writes them, what cannot be tagged and why, and how the writes batch. Pure: the tagger
 * Lambda (lambdas/tagger) and the replay (`replay --json`, `tagging`) plan with these.
 *
 * Tags written (docs/tagging.md): `kind`, `first-seen` (the day, so resources seen the same day
 * share one Tagging API call), `data-sensitivity` (lineage), `gpu-verdict` (the sweep's, changed
 * only when the verdict changes), `agent` (`true` on AI agents: Bedrock agents and aliases,
 * AgentCore runtimes and gateways) and `created-by-agent` (the agent principal that created it).
 *
 * Tag rules every API shares (Tagging Best Practices, "Tag naming limits and requirements"): a
 * key of at most 128 characters, a value of at most 256, the characters
 * `[\p{L}\p{Z}\p{N}_.:/=+\-@]`; AgentCore allows only `[a-zA-Z0-9\s._:/=+@-]` (AgentCore
 * TagResource reference), so values keep to that. The `aws:` prefix is reserved.
 */
import { TAG_PREFIX } from './constants';
import { ACCELERATOR_KINDS } from './kinds';

/** The prefix of the tagger's keys unless configured otherwise. */
export const DEFAULT_TAG_PREFIX = TAG_PREFIX;

/** The tag suffixes the tagger writes under its prefix. */
export const TAGGER_TAGS = ['kind', 'first-seen', 'data-sensitivity', 'gpu-verdict', 'agent', 'created-by-agent'] as const;
export type TaggerTag = (typeof TAGGER_TAGS)[number];

export const MAX_TAG_KEY = 128;
export const MAX_TAG_VALUE = 256;
/** Resource Groups Tagging API TagResources: at most 20 ARNs a call (API reference, ResourceARNList). */
export const TAGGING_API_BATCH = 20;

/** Which API writes a resource's tags. */
export type TagRoute = 'tagging-api' | 'bedrock' | 'bedrock-agent' | 'agentcore' | 's3';

export interface TaggingSettings {
  /** Every key the tagger writes starts with it. @default "ai-visibility:" */
  readonly prefix: string;
  /** Kinds left alone. */
  readonly exclude: readonly string[];
  /**
   * The account the tagger can reach (the stack's); others are untaggable for now. Null: every
   * account (the replay plans as if a stack ran in each).
   */
  readonly account: string | null;
}

/** What the tagger knows of a resource: the inventory item's fields it reads. */
export interface TaggableResource {
  readonly arn: string;
  readonly kind: string;
  readonly account: string;
  readonly region: string;
  readonly status: string;
  readonly firstSeen: string;
  readonly sensitivity: string | null;
  readonly gpuVerdict: string | null;
  readonly createdByAgent: string | null;
  /** Tags the events showed on the resource (a bucket's tag set), when the inventory has them. */
  readonly tags: Readonly<Record<string, string>> | null;
  /** Tagged `ai-visibility:ignore=true`: no tags are written. */
  readonly excluded: boolean;
}

/** What the tagger wrote on a resource, as it last confirmed it. */
export interface TaggerState {
  readonly applied: Readonly<Record<string, string>>;
  readonly untaggable?: string;
}

export type TagPlan =
  | { readonly arn: string; readonly action: 'set'; readonly route: TagRoute; readonly account: string; readonly region: string; readonly set: Readonly<Record<string, string>> }
  | { readonly arn: string; readonly action: 'untaggable'; readonly reason: string }
  | { readonly arn: string; readonly action: 'skip'; readonly reason: string };

const AGENT_KINDS = new Set(['agent', 'agent-alias', 'agent-runtime', 'agent-gateway']);
const BEDROCK_AGENT_KINDS = new Set(['agent', 'agent-alias', 'knowledge-base', 'flow', 'prompt']);
const ACCELERATORS: ReadonlySet<string> = new Set(ACCELERATOR_KINDS);

/** A prefix the tagger may write under, or the reason it may not. */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix.length === 0) return 'is empty';
  if (/^aws:/i.test(prefix)) return 'starts with "aws:", which AWS reserves';
  if (prefix.length + 'created-by-agent'.length > MAX_TAG_KEY) return `leaves too little of the ${MAX_TAG_KEY} characters a key may have`;
  if (!/^[a-zA-Z0-9 ._:/=+@-]+$/.test(prefix)) return 'has a character a tag key may not have (letters, digits, spaces and _ . : / = + @ - only)';
  return undefined;
}

/** A value every tagging API takes: other characters become `_`, at most 256 characters. */
export function tagValue(value: string): string {
  return value.replace(/[^a-zA-Z0-9 ._:/=+@-]/g, '_').slice(0, MAX_TAG_VALUE);
}

/** The account a resource is in: its ARN's, else the inventory's (bucket ARNs name none). */
const accountOf = (r: Pick<TaggableResource, 'arn' | 'account'>) => /^arn:[^:]+:[^:]+:[^:]*:(\d{12}):/.exec(r.arn)?.[1] ?? r.account;

/** The API that tags a resource, or why nothing can. */
export function routeOf(r: Pick<TaggableResource, 'arn' | 'kind' | 'account'>, settings: Pick<TaggingSettings, 'account'>): { route: TagRoute } | { untaggable: string } {
  const m = /^arn:[^:]+:([^:]+):([^:]*):([^:]*):(.+)$/.exec(r.arn);
  if (!m) return { untaggable: 'not an AWS resource ARN' };
  const [, service, , arnAccount, resource] = m;
  if (r.kind === 'foundation-model') return { untaggable: 'a foundation model is owned by AWS' };
  if (r.kind === 'invocation-logging-config' || r.kind === 'model-agreement' || r.kind === 'enforced-guardrail-config') return { untaggable: 'an account setting, not a resource' };
  if (r.kind === 'bedrock-api-key') return { untaggable: 'an IAM service-specific credential cannot be tagged (tag its user)' };
  if (r.kind === 'agent-memory') return { untaggable: 'AgentCore memory cannot be tagged (AgentCore TagResource: runtimes, gateways, browsers, code interpreters)' };
  if (r.kind === 'agent-identity') return { untaggable: 'an AgentCore workload identity cannot be tagged (AgentCore TagResource: runtimes, gateways, browsers, code interpreters)' };
  if (service === 'bedrock' && resource.startsWith('inference-profile/')) return { untaggable: 'a system-defined inference profile is owned by AWS' };
  const account = arnAccount || r.account;
  if (settings.account !== null && account !== settings.account) return { untaggable: `in account ${account || 'unknown'}: the stack tags only its own account (${settings.account})` };
  if (service === 's3') return resource.includes('/') ? { untaggable: 'an S3 object, not a bucket' } : { route: 's3' };
  if (service === 'bedrock') return { route: BEDROCK_AGENT_KINDS.has(r.kind) ? 'bedrock-agent' : 'bedrock' };
  if (service === 'bedrock-agentcore') return { route: 'agentcore' };
  return { route: 'tagging-api' };
}

/** The tags a resource should carry, by full key. */
export function desiredTags(r: TaggableResource, prefix: string): Record<string, string> {
  const out: Record<string, string> = { [`${prefix}kind`]: tagValue(r.kind) };
  if (r.firstSeen) out[`${prefix}first-seen`] = r.firstSeen.slice(0, 10);
  if (r.sensitivity) out[`${prefix}data-sensitivity`] = tagValue(r.sensitivity);
  if (r.gpuVerdict && ACCELERATORS.has(r.kind)) out[`${prefix}gpu-verdict`] = tagValue(r.gpuVerdict);
  if (AGENT_KINDS.has(r.kind)) out[`${prefix}agent`] = 'true';
  if (r.createdByAgent) out[`${prefix}created-by-agent`] = tagValue(r.createdByAgent);
  return out;
}

/**
 * What to do about one resource: the tags whose value is not already right (never a tag outside
 * the prefix, never one already right), or why nothing is written.
 */
export function planTags(r: TaggableResource, state: TaggerState | undefined, settings: TaggingSettings): TagPlan {
  if (state?.untaggable) return { arn: r.arn, action: 'skip', reason: `untaggable: ${state.untaggable}` };
  if (r.status === 'deleted') return { arn: r.arn, action: 'skip', reason: 'deleted' };
  if (r.excluded) return { arn: r.arn, action: 'skip', reason: 'excluded (ai-visibility:ignore)' };
  if (settings.exclude.includes(r.kind)) return { arn: r.arn, action: 'skip', reason: `kind ${r.kind} is excluded` };
  const route = routeOf(r, settings);
  if ('untaggable' in route) return { arn: r.arn, action: 'untaggable', reason: route.untaggable };
  const current = { ...(r.tags ?? {}), ...(state?.applied ?? {}) };
  const set = Object.fromEntries(Object.entries(desiredTags(r, settings.prefix)).filter(([k, v]) => k.startsWith(settings.prefix) && current[k] !== v));
  if (Object.keys(set).length === 0) return { arn: r.arn, action: 'skip', reason: 'tags already right' };
  return { arn: r.arn, action: 'set', route: route.route, account: accountOf(r), region: r.region, set };
}

export interface TagBatch {
  readonly route: TagRoute;
  /** The account the resources are in: the tagger writes there (organization mode: through its member role). */
  readonly account: string;
  readonly region: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly arns: readonly string[];
}

/**
 * The writes: the Tagging API takes one tag set for up to 20 ARNs of one region, so resources
 * needing the same tags there share calls; every other API tags one resource a call.
 */
export function tagBatches(plans: readonly TagPlan[]): TagBatch[] {
  const groups = new Map<string, { route: TagRoute; account: string; region: string; tags: Record<string, string>; arns: string[] }>();
  const out: TagBatch[] = [];
  for (const p of plans) {
    if (p.action !== 'set') continue;
    if (p.route !== 'tagging-api') {
      out.push({ route: p.route, account: p.account, region: p.region, tags: p.set, arns: [p.arn] });
      continue;
    }
    const tags = Object.fromEntries(Object.entries(p.set).sort(([a], [b]) => a.localeCompare(b)));
    // TagResources tags in the caller's account and region only: one group per account, region and tag set.
    const key = `${p.account}\u0000${p.region}\u0000${JSON.stringify(tags)}`;
    const group = groups.get(key) ?? { route: p.route, account: p.account, region: p.region, tags, arns: [] };
    group.arns.push(p.arn);
    groups.set(key, group);
  }
  for (const g of groups.values()) for (let i = 0; i < g.arns.length; i += TAGGING_API_BATCH) out.push({ ...g, arns: g.arns.slice(i, i + TAGGING_API_BATCH) });
  return out;
}
