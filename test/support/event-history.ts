/**
 * CloudTrail event history as LookupEvents answers it (CloudTrail API Reference, "LookupEvents"):
 * one lookup attribute (EventSource or EventName, matched exactly), StartTime <= EventTime <=
 * EndTime, newest first, at most 50 events a page, a NextToken while more remain;
 * `Events[].CloudTrailEvent` is the record as a JSON string. The token is opaque: this one names
 * the request it continues and refuses another (InvalidNextTokenException), as the service does.
 */
export interface HistoryEntry {
  readonly record: Record<string, unknown>;
  /** What the entry's CloudTrailEvent holds: the record's JSON unless given (a broken entry). */
  readonly raw?: string;
}

export interface LookupInput {
  readonly LookupAttributes?: ReadonlyArray<{ AttributeKey?: string; AttributeValue?: string }>;
  readonly StartTime?: Date;
  readonly EndTime?: Date;
  readonly MaxResults?: number;
  readonly NextToken?: string;
}

const timeOf = (record: Record<string, unknown>) => Date.parse(String(record.eventTime));

export function eventHistory(entries: readonly HistoryEntry[]) {
  const requests: LookupInput[] = [];
  const answer = (input: LookupInput) => {
    requests.push(input);
    const [attribute] = input.LookupAttributes ?? [];
    const field = attribute?.AttributeKey === 'EventSource' ? 'eventSource' : attribute?.AttributeKey === 'EventName' ? 'eventName' : undefined;
    const since = input.StartTime?.getTime() ?? -Infinity;
    const until = input.EndTime?.getTime() ?? Infinity;
    const matching = entries
      .filter((e) => (field ? e.record[field] === attribute!.AttributeValue : true))
      .filter((e) => timeOf(e.record) >= since && timeOf(e.record) <= until)
      .sort((a, b) => timeOf(b.record) - timeOf(a.record));
    const request = JSON.stringify([attribute, since, until]);
    let offset = 0;
    if (input.NextToken) {
      const token = JSON.parse(Buffer.from(input.NextToken, 'base64').toString()) as { request: string; offset: number };
      if (token.request !== request) throw Object.assign(new Error('Invalid NextToken'), { name: 'InvalidNextTokenException', $metadata: { httpStatusCode: 400 } });
      offset = token.offset;
    }
    const size = Math.min(input.MaxResults ?? 50, 50);
    const page = matching.slice(offset, offset + size);
    const more = offset + size < matching.length;
    return {
      Events: page.map((e) => ({
        EventId: String(e.record.eventID),
        EventName: String(e.record.eventName),
        EventSource: String(e.record.eventSource),
        EventTime: new Date(timeOf(e.record)),
        ReadOnly: String(e.record.readOnly ?? false),
        CloudTrailEvent: e.raw ?? JSON.stringify(e.record),
      })),
      ...(more ? { NextToken: Buffer.from(JSON.stringify({ request, offset: offset + size })).toString('base64') } : {}),
    };
  };
  return { answer, requests };
}

/** A clock that advances only when slept on: pacing checked without waiting. */
export function virtualClock(start: number) {
  let now = start;
  return { now: () => now, sleep: async (ms: number) => void (now += ms), advance: (ms: number) => void (now += ms) };
}
