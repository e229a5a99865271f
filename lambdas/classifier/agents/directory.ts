/**
 * The agent step's view of stored state, read from the inventory table: which principals are
 * agents or watched (and when each last called a model), the execution roles of Lambda
 * functions, and an agent's recent denials. One BatchGetItem per hundred keys; for denials, one
 * bounded Query (at most a burst's worth of small marker items) per denial the batch cannot
 * settle alone.
 *
 * A function's role comes from CreateFunction/UpdateFunctionConfiguration events when they were
 * in view; otherwise the deployed classifier may look it up (Lambda GetFunctionConfiguration),
 * and caches the answer for a day.
 */
import type { InventoryStore } from '../../shared/inventory-store';
import { keys, keyString, lookupItem, readDenial, readFreshLookup, readFunctionRole, readPrincipal, text } from '../../shared/items';
import type { AgentDirectory, PrincipalState } from './analyze';

export interface AgentLookups {
  /** The execution role of a Lambda function, or undefined when it cannot be read. */
  functionRole?(functionArn: string): Promise<string | undefined>;
}

const LOOKUP_TTL_SECONDS = 24 * 3600;

export function createAgentDirectory(store: InventoryStore, lookups: AgentLookups = {}, now: () => number = Date.now): AgentDirectory {
  return {
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
      const items = await store.getItems(unique.flatMap((f) => [keys.function(f), keys.lookup('function-role', f)]));
      const out = new Map<string, string>();
      const toLookUp: string[] = [];
      for (const f of unique) {
        const fromEvents = readFunctionRole(items.get(keyString(keys.function(f))));
        const cached = readFreshLookup(items.get(keyString(keys.lookup('function-role', f))), now());
        if (fromEvents) out.set(f, fromEvents);
        else if (cached) {
          const role = text(cached.value);
          if (role) out.set(f, role);
        } else if (lookups.functionRole) toLookUp.push(f);
      }
      const cache = [];
      for (const f of toLookUp) {
        const role = await lookups.functionRole!(f);
        if (role) out.set(f, role);
        cache.push(lookupItem('function-role', f, role ?? null, Math.floor(now() / 1000) + LOOKUP_TTL_SECONDS));
      }
      if (cache.length) await store.putItems(cache);
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
  };
}
