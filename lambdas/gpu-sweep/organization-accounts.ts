/**
 * Organization mode: the accounts the sweep maps over, from Organizations `ListAccounts`
 * (paginated with NextToken; only ACTIVE accounts, by `State`, or the older `Status` where
 * `State` is absent: suspended and closing accounts are not swept). Callable from the
 * management account or a delegated administrator (Organizations API reference). Imported by
 * name, loaded by the plan step only in organization mode.
 */
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';

export type ListActiveAccounts = () => Promise<string[]>;

export function organizationAccounts(client: Pick<OrganizationsClient, 'send'> = new OrganizationsClient({})): ListActiveAccounts {
  return async () => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListAccountsCommand({ NextToken: token }));
      for (const a of page.Accounts ?? []) {
        const state = a.State ?? a.Status;
        if (a.Id && state === 'ACTIVE') out.push(a.Id);
      }
      token = page.NextToken || undefined;
    } while (token);
    return out.sort();
  };
}
