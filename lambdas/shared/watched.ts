/** Read the watched principals (the agent capture rules' input) from the table's byKind index. */
import { paginateQuery, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WatchedPrincipal } from './agent-capture';
import { indexQueries, readWatchedIndexEntry } from './items';

export async function readWatched(client: DynamoDBDocumentClient, tableName: string): Promise<WatchedPrincipal[]> {
  const out: WatchedPrincipal[] = [];
  const query = indexQueries.watched();
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      IndexName: query.index.indexName,
      KeyConditionExpression: '#pk = :watch',
      ExpressionAttributeNames: { '#pk': query.index.partitionKey },
      ExpressionAttributeValues: { ':watch': query.partition },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      // The index projects keys and a few attributes: the sort key is the principal.
      const watched = readWatchedIndexEntry(item);
      if (watched) out.push(watched);
    }
  }
  return out;
}
