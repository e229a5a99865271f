/**
 * Lineage as the `lineage` command and the replay report show it: the edges up or down from a
 * node, walked breadth first, each node once (cycles end the walk, they do not loop it), with
 * every node's sensitivity. Read from the local replay store or a deployed table with the same
 * Queries: one per node, on the node's own partition.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { kindOfArn } from '../../lambdas/core/arn';
import { keys, RANGES, readLineageEdge, readLineageNode, type LineageEdgeItem } from '../../lambdas/shared/items';
import { nodeKind, s3Node, type SensitivityFrom } from '../../lambdas/core/lineage';
import { printableDeep } from '../text';

export interface LineageEntry {
  from: string;
  to: string;
  relation: string;
  /** The event that first showed the edge. */
  eventId: string;
  time: string;
}

export interface LineageNode {
  arn: string;
  kind: string;
  sensitivity: string | null;
  sensitivityFrom: SensitivityFrom | null;
  /** Why the node's own classification is unknown, when it is (tags unreadable, tag value not a level). */
  classificationProblem?: string;
}

export interface LineageResult {
  node: LineageNode;
  /** Whether anything is known of the node: an edge or a computed state. */
  known: boolean;
  upstream?: Array<LineageEntry & { depth: number }>;
  downstream?: Array<LineageEntry & { depth: number }>;
  nodes: LineageNode[];
  /** The walk stopped at `maxNodes`. */
  truncated: boolean;
}

export function lineageEntry(edge: LineageEdgeItem): LineageEntry {
  return { from: edge.from, to: edge.to, relation: edge.relation, eventId: edge.firstEventId, time: edge.firstSeen };
}

/** The node an argument names: S3 URIs and URLs become S3 nodes, AI resource ARNs their canonical form. */
export function nodeOfArgument(arg: string): string {
  const s3 = arg.startsWith('s3://') || arg.startsWith('https://') || /^arn:aws[a-z-]*:s3:::/.test(arg) ? s3Node('aws', arg) : undefined;
  return s3 ?? kindOfArn(arg)?.arn ?? arg;
}

/** Nodes visited per walk, each direction: the command reads one partition per node. */
export const MAX_WALK_NODES = 500;

export async function readLineage(
  client: DynamoDBDocumentClient,
  tableName: string,
  arg: string,
  options: { upstream: boolean; downstream: boolean; maxNodes?: number },
): Promise<LineageResult> {
  const start = nodeOfArgument(arg);
  const maxNodes = options.maxNodes ?? MAX_WALK_NODES;
  const { GetCommand, paginateQuery } = await import('@aws-sdk/lib-dynamodb');
  const states = new Map<string, LineageNode>();
  let known = false;
  let truncated = false;

  async function state(node: string): Promise<LineageNode> {
    const cached = states.get(node);
    if (cached) return cached;
    const out = await client.send(new GetCommand({ TableName: tableName, Key: keys.lineageNode(node) }));
    const stored = readLineageNode(out.Item);
    const n: LineageNode = {
      arn: node,
      kind: nodeKind(node),
      sensitivity: stored?.sensitivity ?? null,
      sensitivityFrom: stored?.sensitivityFrom ?? null,
      ...(stored?.own?.problem ? { classificationProblem: stored.own.problem } : {}),
    };
    if (out.Item) known = true;
    states.set(node, n);
    return n;
  }

  async function edges(node: string, direction: 'in' | 'out'): Promise<LineageEntry[]> {
    const out: LineageEntry[] = [];
    const range = direction === 'in' ? RANGES.lineageIn : RANGES.lineageOut;
    const pages = paginateQuery(
      { client },
      { TableName: tableName, KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to', ExpressionAttributeValues: { ':pk': keys.lineageNode(node).pk, ':from': range.from, ':to': range.to } },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const edge = readLineageEdge(item);
        if (edge) out.push(lineageEntry(edge));
      }
    }
    return out;
  }

  async function walk(direction: 'in' | 'out'): Promise<Array<LineageEntry & { depth: number }>> {
    const found: Array<LineageEntry & { depth: number }> = [];
    const visited = new Set([start]);
    let frontier = [start];
    for (let depth = 1; frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const node of frontier) {
        const list = (await edges(node, direction)).sort((a, b) => a.relation.localeCompare(b.relation) || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
        if (list.length) known = true;
        for (const e of list) {
          found.push({ ...e, depth });
          const other = direction === 'in' ? e.from : e.to;
          if (visited.has(other)) continue;
          if (visited.size >= maxNodes) {
            truncated = true;
            continue;
          }
          visited.add(other);
          next.push(other);
          await state(other);
        }
      }
      frontier = next;
    }
    return found;
  }

  const node = await state(start);
  const result: LineageResult = { node, known: false, nodes: [], truncated: false };
  if (options.upstream) result.upstream = await walk('in');
  if (options.downstream) result.downstream = await walk('out');
  result.known = known;
  result.truncated = truncated;
  result.nodes = [...states.values()].sort((a, b) => a.arn.localeCompare(b.arn));
  return result;
}

function describe(n: LineageNode | undefined): string {
  if (!n) return '';
  return `${n.kind}${n.sensitivity ? `, ${n.sensitivity}` : ''}`;
}

export function renderLineage(raw: LineageResult): string {
  // Strings from records never reach the terminal raw.
  const result = printableDeep(raw);
  const { node } = result;
  if (!result.known) return `No lineage is recorded for ${node.arn}.\n`;
  const byArn = new Map(result.nodes.map((n) => [n.arn, n]));
  const lines = [`Lineage of ${node.arn} (${node.kind})`];
  if (node.sensitivity && node.sensitivityFrom) {
    lines.push(`  sensitivity: ${node.sensitivity}, from ${node.sensitivityFrom.arn} (${node.sensitivityFrom.tag})`, `  path: ${node.sensitivityFrom.path.join(' -> ')}`);
  } else {
    lines.push(`  sensitivity: none known${node.classificationProblem ? ` (${node.classificationProblem})` : ''}`);
  }
  for (const [title, list, arrow, end] of [
    ['Upstream', result.upstream, '<-', 'from'],
    ['Downstream', result.downstream, '->', 'to'],
  ] as const) {
    if (!list) continue;
    lines.push('', `${title}: ${list.length} edge(s)`);
    for (const e of list) {
      const other = e[end];
      lines.push(`  ${'  '.repeat(e.depth - 1)}${arrow} ${e.relation} ${other} (${describe(byArn.get(other))})  ${e.time} ${e.eventId}`);
    }
  }
  if (result.truncated) lines.push('', `(walk stopped after ${MAX_WALK_NODES} nodes)`);
  return `${lines.join('\n')}\n`;
}
