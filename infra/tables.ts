import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  metadataTable,
  readingsTable,
  type TableDefinition,
  type TableNames,
} from "../runtime/store/tables";

export interface TablesArgs {
  /** ARN of the KMS key that encrypts both tables at rest. */
  keyArn: pulumi.Input<string>;
  /**
   * Refuse to delete the tables, in DynamoDB itself, so neither `pulumi destroy` nor a
   * replacement can drop the history. Turn it off (and `pulumi up`) before tearing down.
   * @default true
   */
  deletionProtection?: pulumi.Input<boolean>;
  /**
   * Continuous backups to restore either table to any second of the last 35 days.
   * @default true
   */
  pointInTimeRecovery?: pulumi.Input<boolean>;
}

/**
 * The readings and metadata tables, built from the one table definition in
 * `runtime/store/tables.ts`: on-demand billing, encryption with the stack's key, TTL on
 * the definition's expiry attribute. Names are left to Pulumi's auto-naming, so stacks
 * never collide in one account.
 */
export class Tables extends pulumi.ComponentResource {
  readonly readings: aws.dynamodb.Table;
  readonly metadata: aws.dynamodb.Table;
  /** Physical names, in the shape the runtime takes. */
  readonly names: pulumi.Output<TableNames>;
  /** ARNs, keyed like `names`. */
  readonly arns: pulumi.Output<TableNames>;

  constructor(name: string, args: TablesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("canary-capture:index:Tables", name, {}, opts);

    const table = (definition: TableDefinition) =>
      new aws.dynamodb.Table(
        `${name}-${definition.name}`,
        {
          billingMode: "PAY_PER_REQUEST",
          hashKey: definition.hashKey.name,
          rangeKey: definition.rangeKey.name,
          attributes: [
            { name: definition.hashKey.name, type: definition.hashKey.type },
            { name: definition.rangeKey.name, type: definition.rangeKey.type },
          ],
          ttl: { attributeName: definition.ttlAttribute, enabled: true },
          pointInTimeRecovery: { enabled: args.pointInTimeRecovery ?? true },
          serverSideEncryption: { enabled: true, kmsKeyArn: args.keyArn },
          deletionProtectionEnabled: args.deletionProtection ?? true,
        },
        { parent: this },
      );

    this.readings = table(readingsTable);
    this.metadata = table(metadataTable);
    this.names = pulumi.output({ readings: this.readings.name, metadata: this.metadata.name });
    this.arns = pulumi.output({ readings: this.readings.arn, metadata: this.metadata.arn });

    this.registerOutputs({ names: this.names, arns: this.arns });
  }
}
