/**
 * Which account-regions a run covers: the configured pairs and, in organization mode, every
 * active account of the organization in the organization's regions, once each. Discovery by
 * listing and the LookupEvents history import plan the same way.
 */
export interface AccountRegion {
  readonly account: string;
  readonly region: string;
}

export interface PlanInput {
  /** `account:region` pairs, comma-separated (DISCOVERY_TARGETS). */
  readonly configured: string;
  /** Organization mode's regions, comma-separated (ORGANIZATION_REGIONS); empty outside it. */
  readonly organizationRegions?: string;
  /** Pairs given at run time: they replace the configured ones and the organization's. */
  readonly given?: ReadonlyArray<AccountRegion>;
  readonly listAccounts: () => Promise<ReadonlyArray<{ readonly id: string }>>;
}

export async function planTargets(input: PlanInput): Promise<AccountRegion[]> {
  if (input.given?.length) return unique(input.given);
  const pairs: AccountRegion[] = input.configured
    .split(',')
    .filter(Boolean)
    .map((pair) => {
      const [account, region] = pair.split(':');
      return { account, region };
    });
  if (input.organizationRegions) {
    const regions = input.organizationRegions.split(',').filter(Boolean);
    for (const a of await input.listAccounts()) for (const region of regions) pairs.push({ account: a.id, region });
  }
  return unique(pairs);
}

function unique(pairs: ReadonlyArray<AccountRegion>): AccountRegion[] {
  return [...new Map(pairs.map((t) => [`${t.account}:${t.region}`, { account: t.account, region: t.region }])).values()];
}
