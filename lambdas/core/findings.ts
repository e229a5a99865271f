/**
 * The finding rules: id, severity, title and the framework entries each maps to.
 *
 * OWASP Top 10 for LLM Applications 2025 (LLM01..LLM10) and MITRE ATLAS technique ids are
 * given where they fit; MITRE ATT&CK ids where the behaviour is a cloud technique ATLAS reuses
 * (disabling cloud logs, resource hijacking). docs/findings.md explains each rule.
 */
import type { Confidence, FindingObservation, FindingOccasion, FrameworkRef, Severity, Signal } from './model';

const OWASP = {
  LLM01: { framework: 'OWASP-LLM-2025', id: 'LLM01:2025', name: 'Prompt Injection' },
  LLM02: { framework: 'OWASP-LLM-2025', id: 'LLM02:2025', name: 'Sensitive Information Disclosure' },
  LLM03: { framework: 'OWASP-LLM-2025', id: 'LLM03:2025', name: 'Supply Chain' },
  LLM04: { framework: 'OWASP-LLM-2025', id: 'LLM04:2025', name: 'Data and Model Poisoning' },
  LLM06: { framework: 'OWASP-LLM-2025', id: 'LLM06:2025', name: 'Excessive Agency' },
  LLM08: { framework: 'OWASP-LLM-2025', id: 'LLM08:2025', name: 'Vector and Embedding Weaknesses' },
  LLM10: { framework: 'OWASP-LLM-2025', id: 'LLM10:2025', name: 'Unbounded Consumption' },
} as const satisfies Record<string, FrameworkRef>;

const ATLAS = {
  T0010: { framework: 'MITRE-ATLAS', id: 'AML.T0010', name: 'AI Supply Chain Compromise' },
  T0024: { framework: 'MITRE-ATLAS', id: 'AML.T0024', name: 'Exfiltration via AI Inference API' },
  T0025: { framework: 'MITRE-ATLAS', id: 'AML.T0025', name: 'Exfiltration via Cyber Means' },
  T0012: { framework: 'MITRE-ATLAS', id: 'AML.T0012', name: 'Valid Accounts' },
  T0034: { framework: 'MITRE-ATLAS', id: 'AML.T0034', name: 'Cost Harvesting' },
  T0053: { framework: 'MITRE-ATLAS', id: 'AML.T0053', name: 'AI Agent Tool Invocation' },
  T0051: { framework: 'MITRE-ATLAS', id: 'AML.T0051', name: 'LLM Prompt Injection' },
  T0054: { framework: 'MITRE-ATLAS', id: 'AML.T0054', name: 'LLM Jailbreak' },
  T0057: { framework: 'MITRE-ATLAS', id: 'AML.T0057', name: 'LLM Data Leakage' },
  T0098: { framework: 'MITRE-ATLAS', id: 'AML.T0098', name: 'AI Agent Tool Credential Harvesting' },
  T0101: { framework: 'MITRE-ATLAS', id: 'AML.T0101', name: 'Data Destruction via Agent' },
  TA0007: { framework: 'MITRE-ATLAS', id: 'AML.TA0007', name: 'Defense Evasion' },
  TA0008: { framework: 'MITRE-ATLAS', id: 'AML.TA0008', name: 'Discovery' },
  TA0012: { framework: 'MITRE-ATLAS', id: 'AML.TA0012', name: 'Privilege Escalation' },
} as const satisfies Record<string, FrameworkRef>;

const ATTACK = {
  T1078_004: { framework: 'MITRE-ATTACK', id: 'T1078.004', name: 'Valid Accounts: Cloud Accounts' },
  T1098_001: { framework: 'MITRE-ATTACK', id: 'T1098.001', name: 'Account Manipulation: Additional Cloud Credentials' },
  T1496: { framework: 'MITRE-ATTACK', id: 'T1496', name: 'Resource Hijacking' },
  T1535: { framework: 'MITRE-ATTACK', id: 'T1535', name: 'Unused/Unsupported Cloud Regions' },
  T1562: { framework: 'MITRE-ATTACK', id: 'T1562', name: 'Impair Defenses' },
  T1562_008: { framework: 'MITRE-ATTACK', id: 'T1562.008', name: 'Impair Defenses: Disable or Modify Cloud Logs' },
} as const satisfies Record<string, FrameworkRef>;

export interface FindingRule {
  readonly severity: Severity;
  readonly title: string;
  readonly frameworks: readonly FrameworkRef[];
  /** Why no MITRE ATLAS technique or tactic applies, for a rule that maps to none (a test holds every rule to one or the other). */
  readonly atlasNone?: string;
}

export const FINDING_RULES = {
  'invocation-logging-disabled': {
    severity: 'high',
    title: 'Bedrock model invocation logging disabled',
    frameworks: [ATTACK.T1562_008, ATLAS.TA0007, OWASP.LLM10],
  },
  'guardrail-deleted': {
    severity: 'high',
    title: 'Bedrock guardrail deleted',
    frameworks: [OWASP.LLM01, ATLAS.T0054, ATLAS.TA0007],
  },
  'guardrail-weakened': {
    severity: 'high',
    title: 'Bedrock guardrail weakened',
    frameworks: [OWASP.LLM01, ATLAS.T0054, ATLAS.TA0007],
  },
  'enforced-guardrail-removed': {
    severity: 'high',
    title: 'An enforced guardrail configuration was removed',
    frameworks: [OWASP.LLM01, ATLAS.T0054, ATLAS.TA0007],
  },
  'enforced-guardrail-changed': {
    severity: 'medium',
    title: 'An enforced guardrail configuration was changed',
    frameworks: [OWASP.LLM01, ATLAS.T0054, ATLAS.TA0007],
  },
  'model-access-enabled': {
    severity: 'medium',
    title: 'Access to a foundation model enabled',
    frameworks: [OWASP.LLM10, ATLAS.T0034],
  },
  'bedrock-api-key-created': {
    severity: 'medium',
    title: 'A long-term Bedrock API key was created',
    frameworks: [ATTACK.T1098_001, ATLAS.T0012, OWASP.LLM10],
  },
  // LLMjacking (lambdas/classifier/model-use.ts; AWS's threat technique catalog files model
  // hijacking as T1496.A007, a sub-technique of ATT&CK's Resource Hijacking).
  'model-recon-then-invoke': {
    severity: 'high',
    title: 'Model reconnaissance, then a first model invocation by the same principal',
    frameworks: [OWASP.LLM10, ATLAS.TA0008, ATLAS.T0034, ATTACK.T1496],
  },
  'model-invoked-new-region': {
    severity: 'high',
    title: 'Models invoked in a region the account never used them in',
    frameworks: [OWASP.LLM10, ATLAS.T0034, ATTACK.T1535, ATTACK.T1496],
  },
  'model-first-use': {
    severity: 'low',
    title: 'A model the account never used was invoked by a principal that is not a known AI application',
    frameworks: [OWASP.LLM10, ATLAS.T0034],
  },
  'model-invocation-probing': {
    severity: 'high',
    title: 'Repeated refused model invocations from one principal (probing for model access)',
    frameworks: [OWASP.LLM10, ATLAS.TA0008, ATLAS.T0034, ATTACK.T1496],
  },
  'guardduty-ai-finding': {
    severity: 'medium',
    title: 'GuardDuty reported a threat to an AI workload (corroborated)',
    // AnomalousModelInvocation and CostHarvesting are model abuse; PromptInjection.Direct an injection a guardrail stopped.
    frameworks: [OWASP.LLM10, ATLAS.T0034, OWASP.LLM01, ATLAS.T0051],
  },
  'gpu-launch-refused': {
    severity: 'high',
    title: 'GPU/accelerator instance launch refused (permissions or quota)',
    frameworks: [OWASP.LLM10, ATLAS.T0034, ATTACK.T1496],
  },
  'notebook-direct-internet-access': {
    severity: 'medium',
    title: 'SageMaker notebook instance with direct internet access',
    frameworks: [OWASP.LLM02, ATLAS.T0025],
  },
  'notebook-root-access': {
    severity: 'medium',
    title: 'SageMaker notebook instance with root access',
    // Root lets whoever opens the notebook replace its libraries and packages: the software part of the AI supply chain.
    frameworks: [OWASP.LLM03, ATLAS.T0010],
  },
  'endpoint-config-without-kms': {
    severity: 'low',
    title: 'SageMaker endpoint configuration without a customer-managed KMS key',
    frameworks: [OWASP.LLM02],
    atlasNone: "A hardening gap (who controls the key to the endpoint's storage volume), not an adversary's technique: ATLAS catalogs what adversaries do, and names no technique for encryption left to an AWS-managed key.",
  },
  'agent-gateway-without-authorizer': {
    severity: 'high',
    title: 'AgentCore gateway open to unauthenticated callers',
    frameworks: [OWASP.LLM06, ATLAS.T0053],
  },
  'agent-privilege-change': {
    severity: 'high',
    title: 'An AI agent changed permissions',
    frameworks: [OWASP.LLM06, ATLAS.T0053, ATLAS.TA0012],
  },
  'agent-provisioned-resource': {
    severity: 'medium',
    title: 'An AI agent created or started a resource',
    frameworks: [OWASP.LLM06, ATLAS.T0053],
  },
  'agent-destructive-action': {
    severity: 'high',
    title: 'An AI agent deleted or terminated a resource',
    frameworks: [OWASP.LLM06, ATLAS.T0053, ATLAS.T0101],
  },
  'agent-cross-account-action': {
    severity: 'high',
    title: 'An AI agent acted in another account',
    frameworks: [OWASP.LLM06, ATLAS.T0053, ATTACK.T1078_004],
  },
  'agent-denied-burst': {
    severity: 'high',
    title: 'An AI agent was refused repeatedly',
    frameworks: [OWASP.LLM06, ATLAS.T0053, ATLAS.TA0008],
  },
  'agent-secret-access': {
    severity: 'high',
    title: 'An AI agent read a secret',
    frameworks: [OWASP.LLM06, OWASP.LLM02, ATLAS.T0098],
  },
  'gpu-idle': {
    severity: 'medium',
    title: 'An accelerator resource is idle',
    frameworks: [OWASP.LLM10, ATLAS.T0034],
  },
  'gpu-memory-held-idle': {
    severity: 'medium',
    title: 'An accelerator holds memory and computes nothing',
    frameworks: [OWASP.LLM10, ATLAS.T0034],
  },
  'gpu-underutilized': {
    severity: 'low',
    title: 'An accelerator resource is underutilized',
    frameworks: [OWASP.LLM10],
    atlasNone: 'Waste with no adversary behind it: a resource doing less work than it is paid for. Cost Harvesting (AML.T0034) is an adversary using capacity, which an underutilized resource does not show.',
  },
  'gpu-idle-remediation': {
    severity: 'medium',
    title: 'An idle accelerator was stopped, or would be (opt-in remediation)',
    frameworks: [OWASP.LLM10],
    atlasNone: "The record of ai-visibility's own remediation, not of anyone's attack.",
  },
  'member-role-unavailable': {
    severity: 'high',
    title: "ai-visibility cannot act in a member account: its member role cannot be assumed (a blind spot)",
    // A monitor blinded in an account, as invocation-logging-disabled blinds it to invocations: abuse there goes unseen.
    frameworks: [ATTACK.T1562, ATLAS.TA0007, OWASP.LLM10],
  },
  'gpu-no-telemetry': {
    severity: 'medium',
    title: 'An accelerator resource publishes no GPU metrics (a blind spot)',
    frameworks: [OWASP.LLM10, ATLAS.T0034, ATTACK.T1496],
  },
  'sensitive-data-in-training': {
    severity: 'high',
    title: 'A model is trained on sensitive data',
    frameworks: [OWASP.LLM02, OWASP.LLM04, ATLAS.T0057, ATLAS.T0024],
  },
  'sensitive-data-in-knowledge-base': {
    severity: 'high',
    title: 'A knowledge base holds sensitive data',
    frameworks: [OWASP.LLM02, OWASP.LLM08, ATLAS.T0057],
  },
  'sensitive-model-exposed': {
    severity: 'high',
    title: 'A model derived from sensitive data is served',
    frameworks: [OWASP.LLM02, ATLAS.T0024, ATLAS.T0057],
  },
  'prompts-logged-to-weaker-store': {
    severity: 'high',
    title: 'Prompts and completions are logged to a store less protected than the data they carry',
    frameworks: [OWASP.LLM02, ATLAS.T0057],
  },
} as const satisfies Record<string, FindingRule>;

export type FindingRuleId = keyof typeof FINDING_RULES;

/** Build a finding of `rule` raised by `event` against `resource`. */
export function finding(
  rule: FindingRuleId,
  event: FindingOccasion,
  args: {
    resource: string;
    principal: string | null;
    summary: string;
    signals: readonly Signal[];
    confidence?: Confidence;
    severity?: Severity;
  },
): FindingObservation {
  const def: FindingRule = FINDING_RULES[rule];
  return {
    rule,
    severity: args.severity ?? def.severity,
    title: def.title,
    summary: args.summary,
    confidence: args.confidence ?? 'confirmed',
    resource: args.resource,
    principal: args.principal,
    eventId: event.eventId,
    time: event.time,
    account: event.account,
    region: event.region,
    frameworks: def.frameworks,
    signals: args.signals,
  };
}
