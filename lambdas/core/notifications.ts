/**
 * What a finding says to people: the SNS message of a `Finding Recorded` event, with its
 * attributes (what subscriptions filter on), an email text, and JSON in the custom-notification
 * schema of Amazon Q Developer in chat applications, so Slack and Teams channels work with no
 * webhook code. Pure: the notifier Lambda publishes what this renders.
 *
 * The custom-notification schema (Amazon Q Developer in chat applications Administrator Guide,
 * "Custom notifications using Amazon Q Developer in chat applications", "Event schema"):
 * `version` must be "1.0" and `source` "custom"; `content` has `textType` ("client-markdown",
 * the only one supported), `title`, `description`, `nextSteps[]`, `keywords[]`; `metadata` has
 * `threadId` (notifications with one threadId thread together), `summary`, `eventType`,
 * `relatedResources[]` and `additionalContext{}`.
 */
import { severityOrder, type FindingObservation, type Severity, type Signal } from './model';

/** Whether a severity is `min` or more severe (an unknown one never is). */
export const atLeast = (severity: string, min: Severity): boolean => severityOrder(severity) <= severityOrder(min);

/** What a finding notification is made from (a `Finding Recorded` event's finding). */
export type NotifiedFinding = FindingObservation & { readonly findingId: string };

export interface NotificationContext {
  /** Who owns the resource (or principal, or account), or null. */
  readonly owner: string | null;
  /** The resource's kind, when the inventory knows it. */
  readonly kind: string | null;
  /** Organization mode: the account's name and OU path (the account directory), when known. */
  readonly account?: { readonly name: string; readonly ouPath: readonly string[] } | null;
  /** Findings of the same rule, resource and principal counted since the last message (dedup). */
  readonly repeatsSince?: { readonly count: number; readonly since: string };
}

/** The message attributes subscriptions filter on (SNS filter policies). */
export interface NotificationAttributes {
  readonly severity: string;
  readonly rule: string;
  readonly account: string;
  readonly region: string;
  readonly owner: string;
  readonly kind: string;
}

export interface FindingNotification {
  /** The email subject: at most 100 characters, printable ASCII (SNS Publish). */
  readonly subject: string;
  readonly attributes: NotificationAttributes;
  /** One body per protocol (`MessageStructure: json`): `default` (Q Developer JSON, and any protocol without its own) and `email`. */
  readonly bodies: { readonly default: string; readonly email: string };
  /** Notifications of one rule and resource thread together. */
  readonly threadId: string;
}

/** What to do next, by rule: the first line of the runbook. Every rule of the catalog has an entry (a test checks). */
export const NEXT_STEPS: Readonly<Record<string, readonly string[]>> = {
  'invocation-logging-disabled': ['Ask the principal why model invocation logging was turned off.', 'Turn it back on (Bedrock console, Settings, Model invocation logging) unless the change was approved.'],
  'guardrail-deleted': ['Confirm the deletion was approved.', 'Check which applications used the guardrail and restore it, or attach another, before they call models unguarded.'],
  'guardrail-weakened': ['Compare the guardrail version with the previous one.', 'Revert the change unless it was approved.'],
  'enforced-guardrail-removed': ['Confirm the removal was approved: every model invocation in the account-region now runs without the enforced guardrail.', 'Restore it (PutEnforcedGuardrailConfiguration) unless approved, and review the principal\'s other recent calls.'],
  'enforced-guardrail-changed': ['Compare the new guardrail, version and excluded models with the ones enforced before.', 'Revert the change unless it was approved.'],
  'model-access-enabled': ['Confirm the model is approved for this account.', 'If not, revoke the access and review the principal\'s other recent calls.'],
  'bedrock-api-key-created': ['Confirm the key was meant to exist, for whom, and until when: a long-term key works from anywhere until it is deleted or expires.', 'If not, delete it (iam delete-service-specific-credential) and review the creator\'s other recent calls; prefer short-term keys.'],
  'model-recon-then-invoke': ['Ask the principal\'s owner whether it was meant to start using models: a catalogue read followed minutes later by a first invocation is how stolen credentials are put to work (LLMjacking).', 'If not, deactivate its access keys (or revoke the role\'s sessions) and review its other calls and the account\'s Bedrock bill.'],
  'model-invoked-new-region': ['Confirm the account meant to use models in this region.', 'If not, deactivate the principal\'s credentials, and consider an SCP that denies bedrock:InvokeModel* outside the regions in use.'],
  'model-first-use': ['Confirm the model is approved for this account and this principal.'],
  'model-invocation-probing': ['Find out who holds the principal\'s credentials: repeated refused invocations are the probing of stolen keys for reachable models.', 'Deactivate the credentials unless the refusals are a known misconfiguration.'],
  'guardduty-ai-finding': ['Open the GuardDuty finding (its id is in the evidence) for what GuardDuty saw.', 'Use what ai-visibility adds: the principal\'s other calls (`ai-visibility agent <principal>` when it is an agent), the model\'s lineage and its owner.'],
  'gpu-launch-refused': ['Check whether the principal should launch accelerator instances at all: refused GPU launches are a sign of stolen credentials being tried.', 'Review its recent calls with `ai-visibility agent <principal>` or CloudTrail.'],
  'notebook-direct-internet-access': ['Move the notebook into a VPC without direct internet access, unless approved.'],
  'notebook-root-access': ['Turn off root access on the notebook instance, unless approved.'],
  'endpoint-config-without-kms': ['Recreate the endpoint configuration with a customer-managed KMS key.'],
  'agent-gateway-without-authorizer': ['Add an inbound authorizer to the gateway now: anyone who can reach it can call its tools.'],
  'agent-privilege-change': ['Review the permission change the agent made and revert it unless approved.', 'Narrow the agent role so it cannot change permissions.'],
  'agent-provisioned-resource': ['Confirm the agent was meant to create the resource; delete it if not.'],
  'agent-destructive-action': ['Confirm the deletion was intended; restore from backup if not.', 'Narrow the agent role so it cannot delete.'],
  'agent-cross-account-action': ['Confirm the agent should act in the other account; remove the trust if not.'],
  'agent-denied-burst': ['Look at what the agent tried (its ledger: `ai-visibility agent <principal>`): a burst of refusals is an agent probing, or misconfigured.'],
  'agent-secret-access': ['Confirm the agent needs the secret; rotate it if the read was not expected.'],
  'gpu-idle': ['Stop or scale down the resource if nothing needs it, or tell its owner.'],
  'gpu-memory-held-idle': ['Find the process holding GPU memory without computing (a stuck job or notebook kernel) and stop it.'],
  'gpu-underutilized': ['Consider a smaller instance type or fewer instances.'],
  'gpu-idle-remediation': ['If the resource is needed, start it again (the undo command is in the evidence) and tag it ai-visibility:expected-idle=true or remove ai-visibility:idle-action.', 'If it was a dry run, set remediation.mode to "on" to act.'],
  'member-role-unavailable': ['Check that the member stack is deployed in the account (the StackSet\'s stack instance, or AiVisibilityMember) and that the role ai-visibility/ai-visibility-member and its trust are intact; until then the account is not swept, tagged or looked up.'],
  'gpu-no-telemetry': ['Install the CloudWatch agent with the GPU configuration (docs/cloudwatch-agent-gpu.json) so the sweep can judge the resource.'],
  'sensitive-data-in-training': ['Confirm the training data may be used for this model; check who can call the model it produces.'],
  'sensitive-data-in-knowledge-base': ['Confirm the data may be served through the knowledge base and who can query it.'],
  'sensitive-model-exposed': ['Check who can invoke the endpoint or model, and that its data classification allows it.'],
  'prompts-logged-to-weaker-store': ['Protect the log store at least as well as the data in the prompts (classification, access, encryption), or stop logging there.'],
};

const DEFAULT_STEPS = ['Confirm with the principal that this was intended; if not, revert it and review the principal\'s other recent actions.'];

/**
 * Values that look like credentials are never sent: by the field's name (password, secret,
 * token, key material, authorization) or by the value's shape (an access key id, a private key, a
 * JWT, a long base64 blob).
 */
const SECRET_NAME = /(pass(word)?|secret|token|credential|api[-_]?key|private[-_]?key|authorization|session[-_]?key|client[-_]?secret)/i;
const SECRET_VALUE = /(\b(AKIA|ASIA)[A-Z0-9]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.|\b[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=]))/;
export const REDACTED = '[redacted]';

export function redact(signal: Signal): Signal {
  const last = signal.path.split('.').pop() ?? '';
  if (SECRET_NAME.test(last)) return { ...signal, value: REDACTED };
  if (typeof signal.value === 'string' && SECRET_VALUE.test(signal.value)) return { ...signal, value: REDACTED };
  return signal;
}

/** The AWS console page of a resource, or the CloudTrail event when the resource has none. */
export function consoleLink(f: Pick<NotifiedFinding, 'resource' | 'region' | 'eventId'>): string {
  const region = /^[a-z]{2}(-[a-z]+)+-\d$/.test(f.region) ? f.region : 'us-east-1';
  const host = `https://${region}.console.aws.amazon.com`;
  const m = /^arn:aws[a-z-]*:([a-z0-9-]+):[^:]*:\d*:(.+)$/.exec(f.resource);
  const [service, rest] = m ? [m[1], m[2]] : ['', ''];
  const id = rest.split('/').pop() ?? '';
  const q = encodeURIComponent;
  if (service === 'ec2' && rest.startsWith('instance/')) return `${host}/ec2/home?region=${region}#InstanceDetails:instanceId=${q(id)}`;
  if (service === 'sagemaker' && rest.startsWith('endpoint/')) return `${host}/sagemaker/home?region=${region}#/endpoints/${q(id)}`;
  if (service === 'sagemaker' && rest.startsWith('notebook-instance/')) return `${host}/sagemaker/home?region=${region}#/notebook-instances/${q(id)}`;
  if (service === 'bedrock' && rest.startsWith('guardrail/')) return `${host}/bedrock/home?region=${region}#/guardrails/guardrail/${q(id)}`;
  if (service === 'bedrock' && rest.startsWith('agent/')) return `${host}/bedrock/home?region=${region}#/agents/${q(id)}`;
  if (service === 's3') return `https://s3.console.aws.amazon.com/s3/buckets/${q(rest.split('/')[0])}`;
  if (service === 'iam' && rest.startsWith('role/')) return `https://console.aws.amazon.com/iam/home#/roles/details/${q(id)}`;
  if (/^[0-9a-f-]{20,}$/i.test(f.eventId)) return `${host}/cloudtrailv2/home?region=${region}#/events/${q(f.eventId)}`;
  return `${host}/cloudtrailv2/home?region=${region}#/events`;
}

/** SNS subjects: ASCII, no line breaks, at most 100 characters (SNS Publish API reference). */
export function subjectOf(text: string): string {
  const ascii = text.replace(/[^\x20-\x7E]/g, '?');
  return ascii.length <= 100 ? ascii : `${ascii.slice(0, 97)}...`;
}

/** Message attribute values: non-empty strings (an empty one is refused), at most 256 characters here. */
const attribute = (value: string | null | undefined): string => (value && value.length > 0 ? value.slice(0, 256) : 'none');

export function renderFinding(f: NotifiedFinding, context: NotificationContext): FindingNotification {
  const signals = f.signals.map(redact);
  const steps = NEXT_STEPS[f.rule] ?? DEFAULT_STEPS;
  const link = consoleLink(f);
  const frameworks = f.frameworks.map((x) => `${x.id} ${x.name}`);
  const repeats = context.repeatsSince && context.repeatsSince.count > 0 ? `And ${context.repeatsSince.count} more of the same since ${context.repeatsSince.since}.` : undefined;
  const who = f.principal ?? 'no principal (the system)';
  const accountName = context.account?.name ? ` (${context.account.name}${context.account.ouPath.length ? `, ${context.account.ouPath.join('/')}` : ''})` : '';
  const threadId = `${f.rule}#${f.resource}`;

  const email = [
    `${f.severity.toUpperCase()}: ${f.title}`,
    '',
    `What happened: ${f.summary}`,
    ...(repeats ? [repeats] : []),
    `Where: account ${f.account}${accountName}, region ${f.region}, resource ${f.resource}${context.kind ? ` (${context.kind})` : ''}`,
    `Who: ${who}`,
    `When: ${f.time} (event ${f.eventId}); confidence: ${f.confidence}`,
    `Owner: ${context.owner ?? 'none known'}`,
    '',
    'Why it matters:',
    ...frameworks.map((x) => `  - ${x}`),
    '',
    'Evidence:',
    ...signals.map((s) => `  - ${s.eventName} ${s.path} = ${JSON.stringify(s.value)}${s.note ? ` (${s.note})` : ''}`),
    '',
    'What to do next:',
    ...steps.map((s) => `  - ${s}`),
    '',
    `Open: ${link}`,
    '',
    `Finding ${f.findingId} (rule ${f.rule}), from ai-visibility.`,
  ].join('\n');

  const chat = {
    version: '1.0',
    source: 'custom',
    id: f.findingId,
    content: {
      textType: 'client-markdown',
      title: `${f.severity.toUpperCase()}: ${f.title}`,
      description: [
        f.summary,
        ...(repeats ? [`_${repeats}_`] : []),
        `*Where:* ${f.account}${accountName} / ${f.region} / \`${f.resource}\``,
        `*Who:* \`${who}\``,
        `*Why:* ${frameworks.join('; ')}`,
        `*Evidence:* ${signals.slice(0, 5).map((s) => `\`${s.path}\` = ${JSON.stringify(s.value)}`).join('; ')}`,
        `<${link}|Open in the console>`,
      ].join('\n'),
      nextSteps: [...steps],
      keywords: [f.severity, f.rule, f.account, ...(context.owner ? [context.owner] : [])],
    },
    metadata: {
      threadId,
      summary: `${f.severity}: ${f.title} (${f.account}/${f.region})`,
      eventType: f.rule,
      relatedResources: [f.resource, ...(f.principal ? [f.principal] : [])],
      additionalContext: { findingId: f.findingId, eventId: f.eventId, confidence: f.confidence, owner: context.owner ?? '' },
    },
  };

  return {
    subject: subjectOf(`[ai-visibility] ${f.severity.toUpperCase()} ${f.title}`),
    attributes: { severity: f.severity, rule: f.rule, account: f.account, region: f.region, owner: attribute(context.owner), kind: attribute(context.kind) },
    bodies: { default: JSON.stringify(chat), email },
    threadId,
  };
}

/** The dedup key: one message per rule, resource and principal within the window. */
export const dedupKeyOf = (f: Pick<NotifiedFinding, 'rule' | 'resource' | 'principal'>): string => `${f.rule}#${f.resource}#${f.principal ?? '-'}`;

/**
 * Who owns a finding: the `ai-visibility:owner` tag of the resource, else of the principal, else
 * the account's owner from the configuration, else nobody.
 */
export function ownerOf(tags: { readonly resource?: Readonly<Record<string, string>> | null; readonly principal?: Readonly<Record<string, string>> | null }, account: string, accountOwners: Readonly<Record<string, string>>, tagKey: string): string | null {
  const fromTags = (t: Readonly<Record<string, string>> | null | undefined) => (t && Object.hasOwn(t, tagKey) && t[tagKey] ? t[tagKey] : undefined);
  return fromTags(tags.resource) ?? fromTags(tags.principal) ?? (Object.hasOwn(accountOwners, account) ? accountOwners[account] : null);
}

/** A subscription's filter: each key optional; SNS allows 5 keys and 150 combinations of values. */
export interface SubscriptionFilter {
  readonly severities?: readonly string[];
  readonly accounts?: readonly string[];
  readonly owners?: readonly string[];
  readonly rules?: readonly string[];
}

/** SNS subscription filter policy limits (SNS Developer Guide, "Subscription filter policy constraints"). */
export const FILTER_POLICY_LIMITS = { keys: 5, combinations: 150 } as const;

/**
 * What a digest message carries in the attributes a subscription filters on: a subscription
 * filtered by severity, account or rule still receives the digest (its owner's, when it filters
 * by owner).
 */
export const DIGEST_ATTRIBUTES = { severity: 'digest', rule: 'digest', account: 'all', kind: 'digest' } as const;

/** The filter policy of a subscription, and the number of combinations it makes (the product of the value counts). */
export function filterPolicyOf(filter: SubscriptionFilter): { policy: Record<string, string[]>; combinations: number } {
  const policy: Record<string, string[]> = {};
  if (filter.severities?.length) policy.severity = [...filter.severities, DIGEST_ATTRIBUTES.severity];
  if (filter.accounts?.length) policy.account = [...filter.accounts, DIGEST_ATTRIBUTES.account];
  if (filter.owners?.length) policy.owner = [...filter.owners];
  if (filter.rules?.length) policy.rule = [...filter.rules, DIGEST_ATTRIBUTES.rule];
  const combinations = Object.values(policy).reduce((n, v) => n * v.length, 1);
  return { policy, combinations };
}
