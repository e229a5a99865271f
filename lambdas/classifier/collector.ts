/**
 * The collector the per-service rules write their decisions into. A rule says what it sees
 * ("this ARN is an agent, created", "this call invokes a model", "this is a finding") and the
 * collector assembles a `Classification`, merging repeated sightings of the same ARN.
 */
import { finding, type FindingRuleId } from '../core/findings';
import { boundedValue, LIMITS } from './boundary';
import { controlTagsOf } from './tags';
import { CONTROL_TAGS } from '../core/constants';
import type { Classification, NormalizedEvent } from './types';
import type { AttributeValue, FindingObservation, PrincipalObservation, PrincipalRole, ResourceKind, ResourceObservation, ResourceStatus, Severity, Signal } from '../core/model';

export interface ResourceArgs {
  readonly status?: ResourceStatus;
  readonly attributes?: Record<string, AttributeValue | undefined>;
  readonly signals: readonly Signal[];
  readonly onlyIfKnown?: boolean;
  /** Override the account/region read from the ARN (e.g. AWS-owned foundation models). */
  readonly account?: string;
  readonly region?: string;
}

export interface FindingArgs {
  readonly resource: string;
  readonly summary: string;
  readonly signals: readonly Signal[];
  readonly confidence?: 'confirmed' | 'possible';
  /** Instead of the rule's own severity, where the event makes it worse or milder. */
  readonly severity?: Severity;
  /** Instead of the caller: the principal the event is about (a GuardDuty finding's identity). */
  readonly principal?: string;
}

const SERVICE_BY_ARN = /^arn:[^:]+:([^:]+):([^:]*):([^:]*):/;

export class Collector {
  private readonly resources = new Map<string, ResourceObservation>();
  private readonly findings: FindingObservation[] = [];
  private readonly aiSignals: Signal[] = [];
  private ignoredBecause?: string;

  constructor(
    readonly event: NormalizedEvent,
    private readonly principal: (Omit<PrincipalObservation, 'role'> & { baseRole: PrincipalRole }) | undefined,
  ) {}

  get principalArn(): string | null {
    return this.principal?.arn ?? null;
  }

  /** Record an AI resource. A failed call (errorCode) changes no resource: nothing happened. */
  resource(kind: ResourceKind, arn: string, args: ResourceArgs): void {
    if (this.event.errorCode) return;
    const m = SERVICE_BY_ARN.exec(arn);
    const service = m?.[1] ?? this.event.eventSource.replace('.amazonaws.com', '');
    const region = args.region ?? (m?.[2] || this.event.region);
    const account = args.account ?? (m?.[3] || this.event.account);
    const attributes: Record<string, AttributeValue> = {};
    for (const [k, v] of Object.entries(args.attributes ?? {})) if (v !== undefined) attributes[k] = boundedValue(v);
    const previous = this.resources.get(arn);
    this.resources.set(arn, {
      arn,
      kind: previous?.kind ?? kind,
      service,
      account,
      region,
      status: args.status ?? previous?.status ?? 'active',
      attributes: { ...previous?.attributes, ...attributes },
      signals: [...(previous?.signals ?? []), ...args.signals].slice(0, LIMITS.signals),
      onlyIfKnown: previous ? previous.onlyIfKnown && args.onlyIfKnown : args.onlyIfKnown,
    });
  }

  /** The caller invoked or customized a model: it is an AI application. */
  invokesModel(evidence: Signal): void {
    if (!this.event.errorCode) this.aiSignals.push(evidence);
  }

  /** The event is not AI activity after all (a t3 launch, an object that is not a model file). */
  ignore(reason: string): void {
    this.ignoredBecause = reason;
  }

  get recordedResources(): number {
    return this.resources.size;
  }

  finding(rule: FindingRuleId, args: FindingArgs): void {
    this.findings.push(finding(rule, this.event, { ...args, principal: args.principal ?? this.principalArn }));
  }

  /** What the boundary bounded in this record, as signals on everything the record reveals. */
  private inputSignals(): Signal[] {
    const notes = this.event.notes;
    const shown = notes.slice(0, LIMITS.notes).map((n) => ({ eventName: this.event.eventName, path: 'input', value: n, note: 'bounded at the typed boundary' }));
    return notes.length > LIMITS.notes ? [...shown, { eventName: this.event.eventName, path: 'input', value: `${notes.length - LIMITS.notes} more bounded value(s)`, note: 'bounded at the typed boundary' }] : shown;
  }

  /**
   * The control tags the request sets or removes (owner, ignore, expected-idle, idle-action), on
   * every resource it records, ordered like any attribute; an empty value once removed. Who set
   * or removed `ignore`, and when, goes with it (`ignoreSetBy`): an exclusion is never silent.
   */
  private withControls(r: ResourceObservation): ResourceObservation {
    const tags = controlTagsOf(this.event.record.requestParameters, this.event.eventName);
    if (tags.length === 0) return r;
    const attributes: Record<string, AttributeValue> = { ...r.attributes };
    const signals: Signal[] = [];
    for (const t of tags) {
      attributes[t.attribute] = t.value ?? '';
      if (t.attribute === 'ignore') attributes.ignoreSetBy = { by: this.principalArn ?? 'unknown', at: this.event.time, eventId: this.event.eventId, value: t.value ?? '' };
      signals.push({ eventName: this.event.eventName, path: t.path, value: t.value, note: t.value === null ? `${t.key} tag removed` : `${t.key} tag` });
    }
    return { ...r, attributes, signals: [...r.signals, ...signals].slice(0, LIMITS.signals + CONTROL_TAGS.length) };
  }

  result(): Classification {
    const bounded = this.inputSignals();
    const resources = [...this.resources.values()].map((r) => this.withControls(r)).map((r) => (bounded.length ? { ...r, signals: [...r.signals, ...bounded] } : r));
    const findings = bounded.length ? this.findings.map((f) => ({ ...f, signals: [...f.signals, ...bounded] })) : this.findings;
    if (this.ignoredBecause && resources.length === 0 && findings.length === 0) {
      return { resources: [], findings: [], ignoredBecause: this.ignoredBecause };
    }
    const p = this.principal;
    // A call that only touched resources the inventory may not know (StopInstances on some
    // instance) says nothing about its caller's AI use: record no principal for it.
    const onlyConditional = resources.length > 0 && resources.every((r) => r.onlyIfKnown);
    const principal: PrincipalObservation | undefined =
      p && !onlyConditional
        ? {
            arn: p.arn,
            ...(p.iamArn ? { iamArn: p.iamArn } : {}),
            type: p.type,
            account: p.account,
            role: this.aiSignals.length > 0 ? 'ai-application' : p.baseRole,
            signals: this.aiSignals.length > 0 ? [...this.aiSignals, ...p.signals] : p.signals,
          }
        : undefined;
    return { resources, principal, findings };
  }
}
