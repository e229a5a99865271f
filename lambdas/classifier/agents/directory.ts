/**
 * The agent step's view of stored state, read from the inventory table: which principals are
 * agents or watched (and when each last called a model), the execution roles of Lambda
 * functions, and an agent's recent denials. One BatchGetItem per hundred keys; for denials, one
 * bounded Query (at most a burst's worth of small marker items) per denial the batch cannot
 * settle alone.
 *
 * A function's role comes only from the CreateFunction and UpdateFunctionConfiguration events
 * that carry it. The classifier does not call Lambda's GetFunctionConfiguration: its answer
 * holds the function's environment variables (often secrets), which a function that parses
 * untrusted input should never be able to read. A function created before the deployment is
 * linked to its agent when its configuration next changes (docs/agents.md).
 */
import type { InventoryStore } from '../../shared/inventory-store';
import { keys, keyString, readDenial, readFunctionRole, readPrincipal, type LookedUpTags } from '../../shared/items';
import type { LookupRequest } from '../../shared/tag-lookup';
import { AGENT_TAG_KEY } from '../../core/constants';
import type { AgentDirectory, PrincipalState } from './analyze';

export function createAgentDirectory(store: InventoryStore, tagLookup?: (request: LookupRequest) => Promise<Map<string, LookedUpTags>>): AgentDirectory {
  return {
    ...(tagLookup
      ? {
          async declaredByTag(principals: readonly string[]) {
            const found = await tagLookup({ principals });
            return new Set([...found].filter(([, t]) => Object.entries(t.tags).some(([k, v]) => k.toLowerCase() === AGENT_TAG_KEY && v.trim().toLowerCase() === 'true')).map(([arn]) => arn));
          },
        }
      : {}),
    async principals(arns) {
      const wanted = arns.flatMap((arn) => [keys.principal(arn), keys.agentProfile(arn), keys.watch(arn)]);
      const items = await store.getItems(wanted);
      const out = new Map<string, PrincipalState>();
      for (const arn of arns) {
        const principal = readPrincipal(items.get(keyString(keys.principal(arn))));
        const profile = items.get(keyString(keys.agentProfile(arn)));
        const watch = items.get(keyString(keys.watch(arn)));
        if (!principal && !profile && !watch) continue;
        out.set(arn, {
          agent: profile !== undefined,
          watched: watch !== undefined,
          lastModelCallAt: principal?.lastModelCallAt,
        });
      }
      return out;
    },

    async functionRoles(functionArns) {
      const unique = [...new Set(functionArns.map((f) => f.replace(/:\$LATEST$/, '')))];
      const items = await store.getItems(unique.map((f) => keys.function(f)));
      const out = new Map<string, string>();
      for (const f of unique) {
        const role = readFunctionRole(items.get(keyString(keys.function(f))));
        if (role) out.set(f, role);
      }
      return out;
    },

    async deniedBefore(agent, from, before, limit) {
      const { pk, sk } = keys.agentDenialsFrom(agent, from);
      const upTo = keys.agentDenial(agent, before.time, before.eventId).sk;
      const items = await store.queryRange(pk, sk, upTo, { descending: true, limit: limit + 1 });
      return items
        .flatMap((i) => {
          const d = readDenial(i);
          return d && d.eventId !== before.eventId ? [d] : [];
        })
        .slice(0, limit);
    },

    async deniedAfter(agent, after, to, limit) {
      const from = keys.agentDenial(agent, after.time, after.eventId);
      const upTo = `${keys.agentDenialsFrom(agent, to).sk}\uffff`;
      const items = await store.queryRange(from.pk, from.sk, upTo, { limit: limit + 1 });
      return items
        .flatMap((i) => {
          const d = readDenial(i);
          return d && d.eventId !== after.eventId ? [d] : [];
        })
        .slice(0, limit);
    },
  };
}
