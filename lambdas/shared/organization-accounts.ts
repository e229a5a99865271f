/**
 * Organization mode: the accounts the sweep maps over, and their names and OU paths, from
 * Organizations (callable from the management account or a delegated administrator,
 * Organizations API reference):
 * - `ListAccounts` (paginated with NextToken): only ACTIVE accounts, by `State`, or the older
 *   `Status` where `State` is absent; suspended and closing accounts are not swept;
 * - each account's OU path: `ListParents` up to the root, and `DescribeOrganizationalUnit` for
 *   each OU's name, each OU asked once per run (accounts + 2 x distinct OUs calls), a few at once.
 * Imported by name, loaded by the plan step only in organization mode.
 */
import { DescribeOrganizationalUnitCommand, ListAccountsCommand, ListParentsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { pool } from './pool';

export interface OrganizationAccount {
  readonly id: string;
  readonly name: string;
  /** OU names from the root down: ["Workloads", "ML"] ([] for an account directly under the root). */
  readonly ouPath: readonly string[];
}

export type ListActiveAccounts = () => Promise<OrganizationAccount[]>;

export function organizationAccounts(client: Pick<OrganizationsClient, 'send'> = new OrganizationsClient({}), concurrency = 4): ListActiveAccounts {
  return async () => {
    const accounts: Array<{ id: string; name: string }> = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListAccountsCommand({ NextToken: token }));
      for (const a of page.Accounts ?? []) {
        const state = a.State ?? a.Status;
        if (a.Id && state === 'ACTIVE') accounts.push({ id: a.Id, name: a.Name ?? '' });
      }
      token = page.NextToken || undefined;
    } while (token);

    // Each OU's parent and name, asked once: an OU's path is its parent's plus its name.
    const ouPaths = new Map<string, Promise<string[]>>();
    const parentOf = async (childId: string): Promise<{ id: string; type: string } | undefined> => {
      const page = await client.send(new ListParentsCommand({ ChildId: childId }));
      const p = page.Parents?.[0];
      return p?.Id ? { id: p.Id, type: p.Type ?? '' } : undefined;
    };
    const pathOf = (ouId: string): Promise<string[]> => {
      let path = ouPaths.get(ouId);
      if (!path) {
        path = (async () => {
          const [described, parent] = await Promise.all([client.send(new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: ouId })), parentOf(ouId)]);
          const above = parent?.type === 'ORGANIZATIONAL_UNIT' ? await pathOf(parent.id) : [];
          return [...above, described.OrganizationalUnit?.Name ?? ouId];
        })();
        ouPaths.set(ouId, path);
      }
      return path;
    };
    const out: OrganizationAccount[] = [];
    await pool(accounts, concurrency, async (a) => {
      const parent = await parentOf(a.id);
      out.push({ ...a, ouPath: parent?.type === 'ORGANIZATIONAL_UNIT' ? await pathOf(parent.id) : [] });
    });
    return out.sort((x, y) => x.id.localeCompare(y.id));
  };
}
