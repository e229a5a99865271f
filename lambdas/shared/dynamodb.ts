/** The DynamoDB document client every function uses, made one way. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * A client that serves the table in the same process (the local replay's embedded DynamoDB,
 * local/replay/in-process-dynamodb.ts) carries its own document client under this symbol:
 * the functions use it as they would the SDK's. A deployed client never has it.
 */
export const OWN_DOCUMENT_CLIENT = Symbol.for('ai-visibility.own-document-client');

/** A document client over `client` (default: one for the function's region); undefined attributes are dropped. */
export function documentClient(client: DynamoDBClient = new DynamoDBClient({})): DynamoDBDocumentClient {
  const own = (client as { [OWN_DOCUMENT_CLIENT]?: DynamoDBDocumentClient })[OWN_DOCUMENT_CLIENT];
  return own ?? DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
