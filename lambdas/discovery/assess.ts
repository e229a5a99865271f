/**
 * Findings a listing's configuration shows. Pure. The same rules the events raise (core/findings
 * FINDING_RULES), `confidence: confirmed` (the configuration is read, not inferred), with the
 * listing as evidence.
 *
 * A finding's identity is stable across listings: its event id hashes the rule, the resource and
 * the evidence, and its time is when the service says the resource last changed (else the
 * listing's time). The daily listing of an unchanged weak guardrail is the same finding, not a
 * new one a day; a changed configuration is a new one.
 */
import { sha256Hex } from '../core/hash';
import { finding, type FindingRuleId } from '../core/findings';
import { loggingConfigNode } from '../core/lineage';
import type { FindingObservation, Signal } from '../core/model';
import { listedSignal, type ListedResource, type Listing } from '../core/listing';

/** Strengths that filter little or nothing (Bedrock guardrail content filters). */
const WEAK_STRENGTHS = new Set(['NONE', 'LOW']);

const LOGGED_DATA_TYPES = ['textDataDeliveryEnabled', 'imageDataDeliveryEnabled', 'embeddingDataDeliveryEnabled', 'videoDataDeliveryEnabled'];

const signal = (api: string, path: string, value: string | boolean | null, note?: string): Signal => ({ eventName: api, path, value, ...(note ? { note } : {}) });

interface Raised {
  readonly rule: FindingRuleId;
  readonly resource: string;
  readonly summary: string;
  readonly evidence: readonly Signal[];
  readonly api: string;
  readonly changedAt?: string;
}

function occasion(listing: Listing, r: Raised) {
  const key = JSON.stringify([r.rule, r.resource, r.evidence.map((s) => [s.path, s.value])]);
  return { eventId: `listing:${sha256Hex(key).slice(0, 32)}`, time: r.changedAt ?? listing.at, account: listing.account, region: listing.region };
}

function build(listing: Listing, r: Raised): FindingObservation {
  return finding(r.rule, occasion(listing, r), {
    resource: r.resource,
    principal: null,
    summary: r.summary,
    confidence: 'confirmed',
    signals: [listedSignal(r.api, listing.at), ...r.evidence],
  });
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function ofResource(r: ListedResource): Raised[] {
  const c = r.configuration;
  const base = { resource: r.arn, api: r.api, changedAt: r.changedAt };
  switch (r.kind) {
    case 'guardrail': {
      const filters = Array.isArray(c.contentFilters) ? c.contentFilters : [];
      const weak = filters.filter((f) => WEAK_STRENGTHS.has(f.split(' ').pop() ?? ''));
      if (weak.length === 0) return [];
      return [{ ...base, rule: 'guardrail-weakened', summary: `Guardrail ${r.arn} has content filters at NONE or LOW strength: ${weak.join(', ')}.`, evidence: weak.map((f) => signal(r.api, 'contentPolicy.filters', f, 'filter type, side, strength')) }];
    }
    case 'agent-gateway':
      if (c.authorizerType !== 'NONE') return [];
      return [{ ...base, rule: 'agent-gateway-without-authorizer', summary: `Gateway ${r.arn} accepts tool calls without authentication (authorizerType NONE): anyone who finds its URL can drive the tools behind it.`, evidence: [signal(r.api, 'authorizerType', 'NONE')] }];
    case 'notebook': {
      const out: Raised[] = [];
      if (c.directInternetAccess === 'Enabled') out.push({ ...base, rule: 'notebook-direct-internet-access', summary: `Notebook instance ${r.arn} has direct internet access: data in it can leave outside any VPC control.`, evidence: [signal(r.api, 'DirectInternetAccess', 'Enabled')] });
      if (c.rootAccess === 'Enabled') out.push({ ...base, rule: 'notebook-root-access', summary: `Notebook instance ${r.arn} gives its users root access: they can install any package or change the instance.`, evidence: [signal(r.api, 'RootAccess', 'Enabled')] });
      return out;
    }
    case 'endpoint-config': {
      const instanceBacked = Array.isArray(c.instanceTypes) && c.instanceTypes.length > 0;
      if (!instanceBacked || text(c.kmsKeyArn)) return [];
      return [{ ...base, rule: 'endpoint-config-without-kms', summary: `Endpoint configuration ${r.arn} stores model data on instance volumes without a customer-managed KMS key.`, evidence: [signal(r.api, 'KmsKeyId', null, 'absent')] }];
    }
    default:
      return [];
  }
}

/**
 * Model invocation logging, judged only where Bedrock is in use (the listing or the inventory
 * shows a Bedrock resource in the region): a region nobody uses Bedrock in needs no logging.
 */
function ofLogging(listing: Listing, bedrockInUse: boolean): Raised[] {
  const logging = listing.settings.invocationLogging;
  if (logging === undefined || !bedrockInUse) return [];
  const api = 'bedrock:GetModelInvocationLoggingConfiguration';
  const resource = loggingConfigNode(listing.partition, listing.region, listing.account);
  if (logging === null) {
    return [{ rule: 'invocation-logging-disabled', resource, api, summary: `Model invocation logging is off in ${listing.account}/${listing.region}, where Bedrock is in use: prompts and completions are not recorded.`, evidence: [signal(api, 'loggingConfig', null, 'absent: logging is not configured')] }];
  }
  if (!logging.s3Bucket && !logging.logGroup) {
    return [{ rule: 'invocation-logging-disabled', resource, api, summary: `Model invocation logging in ${listing.account}/${listing.region} has no destination (neither S3 nor CloudWatch Logs).`, evidence: [signal(api, 'loggingConfig', null, 'no s3Config.bucketName and no cloudWatchConfig.logGroupName')] }];
  }
  const given = LOGGED_DATA_TYPES.filter((k) => k in logging.dataTypes);
  if (given.length > 0 && given.every((k) => logging.dataTypes[k] === false)) {
    return [{ rule: 'invocation-logging-disabled', resource, api, summary: `Model invocation logging in ${listing.account}/${listing.region} has every data type turned off.`, evidence: given.map((k) => signal(api, `loggingConfig.${k}`, false)) }];
  }
  return [];
}

/** The findings of one listing; `bedrockInUse` says whether the inventory holds Bedrock resources of the region. */
export function assess(listing: Listing, bedrockInUse = false): FindingObservation[] {
  const inUse = bedrockInUse || listing.resources.some((r) => r.service === 'bedrock' && r.kind !== 'invocation-logging-config');
  return [...listing.resources.flatMap(ofResource), ...ofLogging(listing, inUse)].map((r) => build(listing, r));
}
