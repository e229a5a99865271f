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
import { keyString } from '../../shared/inventory-store';
import { ENTITY, keys } from '../../shared/table-schema';
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
        const principal = items.get(keyString(keys.principal(arn)));
        const profile = items.get(keyString(keys.agentProfile(arn)));
        const watch = items.get(keyString(keys.watch(arn)));
        if (!principal && !profile && !watch) continue;
        out.set(arn, {
          agent: profile !== undefined,
          watched: watch !== undefined,
          lastModelCallAt: typeof principal?.lastModelCallAt === 'string' ? principal.lastModelCallAt : undefined,
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
        const fromEvents = items.get(keyString(keys.function(f)))?.role;
        const cached = items.get(keyString(keys.lookup('function-role', f)));
        if (typeof fromEvents === 'string') out.set(f, fromEvents);
        else if (cached && Number(cached.expiresAt) * 1000 > now()) {
          if (typeof cached.value === 'string') out.set(f, cached.value);
        } else if (lookups.functionRole) toLookUp.push(f);
      }
      const cache = [];
      for (const f of toLookUp) {
        const role = await lookups.functionRole!(f);
        if (role) out.set(f, role);
        cache.push({ ...keys.lookup('function-role', f), entity: ENTITY.lookup, value: role ?? null, expiresAt: Math.floor(now() / 1000) + LOOKUP_TTL_SECONDS });
      }
      if (cache.length) await store.putItems(cache);
      return out;
    },

    async deniedBefore(agent, from, before, limit) {
      const { pk, sk } = keys.agentDenialsFrom(agent, from);
      const upTo = keys.agentDenial(agent, before.time, before.eventId).sk;
      const items = await store.queryRange(pk, sk, upTo, { descending: true, limit: limit + 1 });
      return items
        .filter((i) => i.entity === ENTITY.agentDenial && i.eventId !== before.eventId)
        .slice(0, limit)
        .map((i) => ({ time: i.time as string, eventId: i.eventId as string }));
    },
  };
}
