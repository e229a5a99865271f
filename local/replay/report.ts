/**
 * The replay report: the inventory, principals, findings and quarantine read back from the
 * table, as the `--json` document (schemaVersion 1) or as a readable summary.
 *
 * The JSON fields named in the schema are a contract: later versions add sections and fields,
 * they never rename or remove these.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PublishedEvent } from '../handlers';
import { printableDeep } from '../text';
import { controlsOf, ENTITY, readFinding, readLineageEdge, readPrincipal, readQuarantine, readResource, taggableOf, type RawItem } from '../../lambdas/shared/items';
import { taggedPrincipalOf } from '../../lambdas/core/arn';
import { DEFAULT_TAG_PREFIX, planTags } from '../../lambdas/core/tagging';
import { severityOrder, type FrameworkRef, type Signal } from '../../lambdas/core/model';
import { agentsFromItems, type AgentActionEntry, type AgentEntry } from '../query/agents';
import { lineageEntry, type LineageEntry } from '../query/lineage';
import type { SensitivityFrom } from '../../lambdas/core/lineage';

/**
 * Every record is counted once, in one place: `records = notMatched + classified + quarantined`
 * (`ignored` is part of `classified`). The quarantine list also names what is not a record
 * (an unreadable file or line, lineage or change-feed work not done): `problems` counts those.
 */
export interface ReplayStats {
  /** Records read. */
  records: number;
  /** Records that matched at least one capture rule (what a deployed stack would receive). */
  matched: number;
  /** Records no capture rule takes (a deployed stack never sees them). */
  notMatched: number;
  /** Matched records the classifier decided on: recorded as AI activity or judged not AI. */
  classified: number;
  /** Of those, the records judged not AI activity (e.g. a t3 instance stopped). */
  ignored: number;
  /** Records kept aside with a reason: not CloudTrail, malformed events, undeliverable writes. */
  quarantined: number;
  /** Quarantine entries that are not records: unreadable files and lines, work not done. */
  problems: number;
  files: number;
}

/** What a replay run produced besides the table contents. */
export interface ReplayRun {
  readonly stats: ReplayStats;
  /** Problems found outside the handler: unreadable files and lines, dead-lettered messages. */
  readonly problems: readonly QuarantineEntry[];
  /** How many of the problems are matched events that were never written (dead-lettered). */
  readonly deadLettered: number;
  /** How many of the problems are records (not CloudTrail, dead-lettered). */
  readonly recordProblems: number;
  /** Where the classifier said each message ended, when the run kept count (else derived from the table). */
  readonly outcomes?: Readonly<Record<'classified' | 'ignored' | 'quarantined', number>>;
  /** The domain events the change feed published (empty when it did not run). */
  readonly events?: readonly PublishedEvent[];
}

export interface InventoryEntry {
  arn: string;
  kind: string;
  service: string;
  account: string;
  region: string;
  status: string;
  signals: Signal[];
  firstSeen: string;
  lastSeen: string;
  /** The highest classification of the data upstream (lineage), or null when none is known. */
  sensitivity: string | null;
  /** Where that classification comes from: the classified source and the path from it. */
  sensitivityFrom: SensitivityFrom | null;
  attributes: Record<string, unknown>;
}


export interface PrincipalEntry {
  arn: string;
  role: string;
  type: string;
  account: string;
  firstSeen: string;
  lastSeen: string;
  signals: Signal[];
}

export interface FindingEntry {
  rule: string;
  severity: string;
  resource: string;
  principal: string | null;
  eventId: string;
  time: string;
  frameworks: FrameworkRef[];
  title: string;
  summary: string;
  confidence: string;
  signals: Signal[];
}

/** A resource or principal tagged ai-visibility:ignore=true, who set it and when, and the findings it holds back. */
export interface ExcludedEntry {
  arn: string;
  type: 'resource' | 'principal';
  by: string;
  at: string;
  eventId: string;
  findingsHeldBack: number;
}

/** What the tagger would write on a resource, or why it cannot (the deployed tagger's plan). */
export interface TaggingEntry {
  arn: string;
  set?: Record<string, string>;
  untaggable?: string;
}

export interface QuarantineEntry {
  source: string;
  reason: string;
}

export interface ReplayReport {
  schemaVersion: 1;
  stats: ReplayStats;
  inventory: InventoryEntry[];
  principals: PrincipalEntry[];
  findings: FindingEntry[];
  quarantine: QuarantineEntry[];
  agents: AgentEntry[];
  agentActions: AgentActionEntry[];
  lineage: LineageEntry[];
  /** The domain events the run produced, by detail type and id (docs/events.md). */
  events: PublishedEvent[];
  /** The tags the tagger would write, planned as if a stack ran in each account (docs/tagging.md). */
  tagging: TaggingEntry[];
  /** What is excluded by ai-visibility:ignore; its findings are left out of `findings` (docs/tagging.md). */
  excluded: ExcludedEntry[];
}

export async function scanTable(client: DynamoDBDocumentClient, tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  // Loaded here, not with the module: building a report needs no SDK.
  const { paginateScan } = await import('@aws-sdk/lib-dynamodb');
  for await (const page of paginateScan({ client }, { TableName: tableName })) items.push(...((page.Items ?? []) as Record<string, unknown>[]));
  return items;
}

export function buildReport(items: readonly RawItem[], run: ReplayRun): ReplayReport {
  const inventory: InventoryEntry[] = [];
  const principals: PrincipalEntry[] = [];
  const findings: FindingEntry[] = [];
  const quarantine: QuarantineEntry[] = [...run.problems];
  const lineage: LineageEntry[] = [];
  const tagging: TaggingEntry[] = [];
  // What ignore excludes, read first: a finding of an excluded resource or principal is held back.
  const excludedBy = new Map<string, ExcludedEntry>();
  for (const item of items) {
    const isResource = item.entity === ENTITY.resource;
    if (!isResource && item.entity !== ENTITY.principalTags) continue;
    const e = controlsOf(item).excluded;
    if (e && typeof item.arn === 'string') excludedBy.set(item.arn, { arn: item.arn, type: isResource ? 'resource' : 'principal', ...e, findingsHeldBack: 0 });
  }
  const exclusionOf = (resource: string, principal: string | null) => excludedBy.get(resource) ?? (principal ? excludedBy.get(taggedPrincipalOf(principal) ?? '') : undefined);
  let handlerQuarantined = 0;
  for (const item of items) {
    const resource = readResource(item);
    if (resource) {
      const { arn, kind, service, account, region, status, signals, firstSeen, lastSeen, sensitivity, sensitivityFrom, configuration } = resource;
      inventory.push({ arn, kind, service, account, region, status, signals, firstSeen, lastSeen, sensitivity, sensitivityFrom, attributes: { ...configuration } });
      const plan = planTags(taggableOf(resource), undefined, { prefix: DEFAULT_TAG_PREFIX, exclude: [], account: null });
      if (plan.action === 'set') tagging.push({ arn, set: { ...plan.set } });
      if (plan.action === 'untaggable') tagging.push({ arn, untaggable: plan.reason });
      continue;
    }
    const principal = readPrincipal(item);
    if (principal) {
      const { arn, role, type, account, firstSeen, lastSeen } = principal;
      // Why the role: the newest AI call for AI applications, else who the caller is.
      const signals = role === 'ai-application' ? [...principal.aiSignals, ...principal.identitySignals] : principal.identitySignals;
      principals.push({ arn, role, type, account, firstSeen, lastSeen, signals });
      continue;
    }
    const finding = readFinding(item);
    if (finding) {
      const exclusion = exclusionOf(finding.resource, finding.principal);
      if (exclusion) {
        exclusion.findingsHeldBack++;
        continue;
      }
      const { rule, severity, resource: subject, principal: caller, eventId, time, frameworks, title, summary, confidence, signals } = finding;
      findings.push({ rule, severity, resource: subject, principal: caller, eventId, time, frameworks: [...frameworks], title, summary, confidence, signals: [...signals] });
      continue;
    }
    const edge = readLineageEdge(item);
    if (edge) {
      if (edge.direction === 'out') lineage.push(lineageEntry(edge));
      continue;
    }
    const quarantined = readQuarantine(item);
    if (quarantined) {
      // The handler names a message `sqs:<messageId>`; replayed messages are named by the
      // location of their record, which is what the report shows.
      const source = quarantined.source;
      quarantine.push({ source: source.startsWith('sqs:') ? source.slice(4) : source, reason: quarantined.reason });
      handlerQuarantined++;
    }
  }
  inventory.sort((a, b) => a.kind.localeCompare(b.kind) || a.arn.localeCompare(b.arn));
  principals.sort((a, b) => a.arn.localeCompare(b.arn));
  findings.sort((a, b) => a.time.localeCompare(b.time) || a.eventId.localeCompare(b.eventId) || a.rule.localeCompare(b.rule));
  quarantine.sort((a, b) => a.source.localeCompare(b.source, undefined, { numeric: true }));
  // The classifier's own count of where messages ended, when the run kept it; else the table's quarantine.
  const quarantinedByHandler = run.outcomes?.quarantined ?? handlerQuarantined;
  const stats: ReplayStats = {
    ...run.stats,
    classified: run.outcomes ? run.outcomes.classified + run.outcomes.ignored : run.stats.matched - quarantinedByHandler - run.deadLettered,
    ignored: run.outcomes?.ignored ?? 0,
    quarantined: run.recordProblems + quarantinedByHandler,
    problems: run.problems.length - run.recordProblems,
  };
  lineage.sort((a, b) => a.time.localeCompare(b.time) || a.eventId.localeCompare(b.eventId) || a.from.localeCompare(b.from) || a.to.localeCompare(b.to) || a.relation.localeCompare(b.relation));
  const { agents, actions } = agentsFromItems(items);
  const events = [...(run.events ?? [])].sort((a, b) => a['detail-type'].localeCompare(b['detail-type']) || (a.resources[0] ?? '').localeCompare(b.resources[0] ?? '') || a.detail.id.localeCompare(b.detail.id));
  tagging.sort((a, b) => a.arn.localeCompare(b.arn));
  const excluded = [...excludedBy.values()].sort((a, b) => a.arn.localeCompare(b.arn));
  return { schemaVersion: 1, stats, inventory, principals, findings, quarantine, agents, agentActions: actions, lineage, events, tagging, excluded };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')}`).join('\n');
}

export function renderReport(input: ReplayReport): string {
  // Strings from records never reach the terminal raw.
  const report = printableDeep(input);
  const { stats } = report;
  const lines: string[] = [];
  lines.push(
    `ai-visibility replay: ${stats.records} records from ${stats.files} file(s); ${stats.matched} matched the capture rules`,
    `  classified ${stats.classified} (recorded, or judged not AI activity), quarantined ${stats.quarantined}`,
    '',
  );
  lines.push(`Inventory: ${report.inventory.length} AI resource(s)`);
  if (report.inventory.length) {
    lines.push(table([['KIND', 'STATUS', 'ACCOUNT', 'ARN'], ...report.inventory.map((r) => [r.kind, r.status, r.account, r.arn])]));
  }
  lines.push('', `Principals: ${report.principals.length}`);
  if (report.principals.length) lines.push(table([['ROLE', 'PRINCIPAL'], ...report.principals.map((p) => [p.role, p.arn])]));
  const bySeverity = [...report.findings].sort((a, b) => severityOrder(a.severity) - severityOrder(b.severity) || a.time.localeCompare(b.time));
  lines.push('', `Findings: ${report.findings.length}`);
  for (const f of bySeverity) {
    const frameworks = f.frameworks.map((x) => x.id).join(', ');
    lines.push(`  [${f.severity.toUpperCase()}] ${f.rule}${f.confidence === 'possible' ? ' (possible)' : ''}  ${f.time}`, `      ${f.summary}`, `      by ${f.principal ?? 'unknown caller'}; ${frameworks}`);
  }
  lines.push('', `Agents: ${report.agents.length}`);
  for (const a of report.agents) {
    const counts = Object.entries(a.actionCounts).map(([c, n]) => `${c} ${n}`).join(', ');
    lines.push(`  ${a.arn}`, `      identified by ${a.identifiedBy.map((e) => e.how).join(', ')}; ${report.agentActions.filter((x) => x.agent === a.arn).length} action(s)${counts ? `: ${counts}` : ''}`);
  }
  const sensitive = report.inventory.filter((r) => r.sensitivity);
  lines.push('', `Lineage: ${report.lineage.length} edge(s); ${sensitive.length} AI resource(s) carry classified data`);
  for (const r of sensitive) lines.push(`  ${r.sensitivity!.padEnd(12)} ${r.kind} ${r.arn}`, `      from ${r.sensitivityFrom!.arn} (${r.sensitivityFrom!.tag}) by way of ${r.sensitivityFrom!.path.length - 1} hop(s)`);
  const byType = new Map<string, number>();
  for (const e of report.events) byType.set(e['detail-type'], (byType.get(e['detail-type']) ?? 0) + 1);
  lines.push('', `Domain events: ${report.events.length}${byType.size ? ` (${[...byType].map(([t, n]) => `${t} ${n}`).join(', ')})` : ''}`);
  lines.push('', `Quarantine: ${report.quarantine.length}`);
  for (const q of report.quarantine) lines.push(`  ${q.source}`, `      ${q.reason}`);
  return `${lines.join('\n')}\n`;
}
