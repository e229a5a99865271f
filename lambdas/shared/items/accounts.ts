/**
 * Organization mode's account directory: an account's name and OU path as Organizations listed
 * them at the last sweep (`ACCOUNT#<id>`, `#STATE`), for reports and routing. Written by the
 * sweep's target step, read by whoever names accounts. Outside the change feed: it is no event.
 */
import { ENTITY, keys } from './keys';
import { textOr, type Item, type RawItem } from './read';

export interface AccountInfo {
  readonly id: string;
  readonly name: string;
  /** OU names from the root down (the root itself not named): ["Workloads", "ML"]. */
  readonly ouPath: readonly string[];
  readonly seenAt: string;
}

export function accountItem(a: AccountInfo): Item {
  return { ...keys.account(a.id), entity: ENTITY.account, account: a.id, name: a.name, ouPath: [...a.ouPath], seenAt: a.seenAt };
}

export function readAccount(item: RawItem | undefined): AccountInfo | undefined {
  if (!item || item.entity !== ENTITY.account || typeof item.account !== 'string') return undefined;
  return { id: item.account, name: textOr(item.name, ''), ouPath: Array.isArray(item.ouPath) ? item.ouPath.filter((x): x is string => typeof x === 'string') : [], seenAt: textOr(item.seenAt, '') };
}
