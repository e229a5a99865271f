/**
 * Where a CloudTrail trail keeps its log files, and which of them a look-back reads. Pure.
 *
 * Key layout (CloudTrail User Guide, "Finding your CloudTrail log files" and "CloudTrail log file
 * examples"; an organization trail adds the organization id):
 *
 *   <prefix>/AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/
 *     <account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<unique>.json.gz
 *
 * The time in the name is when the file was delivered; "a log file delivered at a specific time
 * can contain records written at any point before that time". Digest files (`CloudTrail-Digest/`)
 * and Insights files (`CloudTrail-Insight/`) sit beside the logs and hold no API calls.
 */

export interface TrailLocation {
  readonly bucket: string;
  /** The trail's S3 key prefix, without slashes at either end ('' for none). */
  readonly prefix: string;
  /** An organization trail's organization id (`o-...`), else undefined. */
  readonly organizationId?: string;
}

export interface LogFileKey {
  readonly key: string;
  readonly account: string;
  readonly region: string;
  /** When CloudTrail delivered the file (the minute in its name), epoch milliseconds. */
  readonly deliveredAt: number;
}

/** The folder above the accounts: `<prefix>/AWSLogs/[<o-id>/]`. */
export function accountsFolder(location: TrailLocation): string {
  return `${location.prefix ? `${location.prefix}/` : ''}AWSLogs/${location.organizationId ? `${location.organizationId}/` : ''}`;
}

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z$/;

function stampTime(stamp: string): number {
  const m = STAMP.exec(stamp);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5])) : NaN;
}

/** `YYYYMMDDTHHmmZ` of a time. */
export function stampOf(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z';
}

/**
 * The log file a key names, or why it is not one to read: outside the trail's folder, another
 * organization's, a digest or Insights file, or not named like a log file.
 */
export function parseLogFileKey(key: string, location: TrailLocation): LogFileKey | { readonly skip: string } {
  const folder = accountsFolder(location);
  if (!key.startsWith(folder)) return { skip: `not under the trail's folder ${folder}` };
  const m = new RegExp(`^(\\d{12})/(CloudTrail[^/]*)/([a-z0-9-]+)/(\\d{4})/(\\d{2})/(\\d{2})/(\\d{12})_CloudTrail_([a-z0-9-]+)_(\\d{8}T\\d{4}Z)_[A-Za-z0-9]+\\.json\\.gz$`).exec(key.slice(folder.length));
  if (!m) return { skip: 'not named like a CloudTrail log file' };
  const [, account, kind, region, , , , fileAccount, fileRegion, stamp] = m;
  if (kind !== 'CloudTrail') return { skip: `a ${kind} file, not API calls` };
  if (fileAccount !== account || fileRegion !== region) return { skip: 'its name and its folder disagree on the account or region' };
  const deliveredAt = stampTime(stamp);
  if (!Number.isFinite(deliveredAt)) return { skip: 'not named like a CloudTrail log file' };
  return { key, account, region, deliveredAt };
}

/** The folder of an account's log files, whose subfolders are its regions. */
export function regionsFolder(location: TrailLocation, account: string): string {
  return `${accountsFolder(location)}${account}/CloudTrail/`;
}

export interface Listing {
  /** ListObjectsV2 `Prefix`: one day's folder. */
  readonly prefix: string;
  /** ListObjectsV2 `StartAfter`, on the first day of the window: names sort by delivery minute. */
  readonly startAfter?: string;
}

const day = 86_400_000;

/**
 * The ListObjectsV2 calls that find an account's log files delivered in [since, until], region
 * by region and day by day (file names within a day's folder sort by their delivery minute).
 * The caller still filters on `deliveredAt`: a listing ends at the day's end, not at `until`.
 */
export function lookBackListings(location: TrailLocation, account: string, regions: readonly string[], since: number, until: number): Listing[] {
  const out: Listing[] = [];
  if (!(since <= until)) return out;
  const firstDay = Math.floor(since / day) * day;
  for (const region of regions) {
    for (let d = firstDay; d <= until; d += day) {
      const date = new Date(d).toISOString().slice(0, 10).replace(/-/g, '/');
      const prefix = `${regionsFolder(location, account)}${region}/${date}/`;
      out.push(d === firstDay ? { prefix, startAfter: `${prefix}${account}_CloudTrail_${region}_${stampOf(since)}` } : { prefix });
    }
  }
  return out;
}

/** The account a principal ARN belongs to (IAM and STS ARNs), else undefined. */
export function accountOfPrincipal(arn: string): string | undefined {
  return /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];
}
