/**
 * AiInventoryTable: the single DynamoDB table behind the inventory, principals, findings and
 * quarantine (physical schema in lambdas/shared/table-schema.ts, item keys in lambdas/shared/items, access patterns in
 * docs/data-model.md). On-demand, point-in-time recovery, encrypted with a customer-managed
 * key that rotates, and by default protected from deletion and kept when the stack goes.
 */
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { INDEXES, PARTITION_KEY, PROJECTED_ATTRIBUTES, SORT_KEY, TTL_ATTRIBUTE } from '../../lambdas/shared/table-schema';

export interface AiInventoryTableProps {
  /**
   * Keep the table and its key when the stack is deleted, and turn on deletion protection.
   * @default true
   */
  readonly retain?: boolean;
}

export class AiInventoryTable extends Construct {
  readonly table: dynamodb.Table;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AiInventoryTableProps = {}) {
    super(scope, id);
    const retain = props.retain ?? true;
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.key = new kms.Key(this, 'Key', {
      description: 'ai-visibility inventory table encryption',
      enableKeyRotation: true,
      removalPolicy,
    });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: SORT_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      deletionProtection: retain,
      removalPolicy,
      // Records that expire: the agent action ledger and cached lookups; inventory items never do.
      timeToLiveAttribute: TTL_ATTRIBUTE,
      // New and old images: the change feed (its one reader) turns them into domain events.
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    });
    for (const index of Object.values(INDEXES)) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...PROJECTED_ATTRIBUTES],
      });
    }
  }

  /**
   * What the classifier needs: conditional updates, batch puts, and the consistent reads of its
   * merge path and agent step (an item, a batch of principals, an agent's recent ledger) on the
   * table (not its indexes), and the table key, usable only through DynamoDB.
   */
  grantClassifierWrites(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem'],
      resourceArns: [this.table.tableArn],
    });
    this.grantKeyViaDynamoDb(grantee, ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:DescribeKey']);
  }

  private grantKeyViaDynamoDb(grantee: iam.IGrantable, actions: string[]): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.${Stack.of(this).urlSuffix}` } },
    });
  }

  /**
   * Reading items by key, and writing only cached lookups: puts are limited to partition keys
   * under `LOOKUP#` (dynamodb:LeadingKeys), so the change feed cannot change the inventory it reads.
   */
  grantItemReadAndLookupCache(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], resourceArns: [this.table.tableArn] });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LOOKUP#*'] } },
    });
    this.grantKeyViaDynamoDb(grantee, ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']);
  }

  /** Reading the watched principals from the byKind index. */
  grantWatchedRead(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.table.tableArn}/index/${INDEXES.byKind.indexName}`] });
    this.grantKeyViaDynamoDb(grantee, ['kms:Decrypt', 'kms:DescribeKey']);
  }

  /** Reading an account's items from the byAccount index (the GPU sweep: the inventory's GPU instances). */
  grantAccountRead(grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [`${this.table.tableArn}/index/${INDEXES.byAccount.indexName}`] });
    this.grantKeyViaDynamoDb(grantee, ['kms:Decrypt', 'kms:DescribeKey']);
  }

  /** Reading the inventory (the CLI against a deployed table, dashboards). */
  grantRead(grantee: iam.IGrantable): void {
    this.table.grantReadData(grantee);
  }
}
