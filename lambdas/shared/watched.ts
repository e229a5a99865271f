/** Read the watched principals (the agent capture rules' input) from the table's byKind index. */
import { paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WatchedPrincipal } from './agent-capture';
import { INDEXES, WATCH_INDEX_PK } from './table-schema';

export async function readWatched(client: DynamoDBDocumentClient, tableName: string): Promise<WatchedPrincipal[]> {
  const out: WatchedPrincipal[] = [];
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      IndexName: INDEXES.byKind.indexName,
      KeyConditionExpression: '#pk = :watch',
      ExpressionAttributeNames: { '#pk': INDEXES.byKind.partitionKey },
      ExpressionAttributeValues: { ':watch': WATCH_INDEX_PK },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      // The index projects keys and a few attributes: the sort key is the principal.
      const principal = item[INDEXES.byKind.sortKey] as string;
      out.push({ principal, ...(typeof item.iamArn === 'string' ? { iamArn: item.iamArn } : {}) });
    }
  }
  return out;
}
