import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface KeyArgs {
  /**
   * ARN of an existing symmetric KMS key to use instead of creating one. Its key policy must
   * let this account's IAM policies grant its use (the default key policy does).
   * @default undefined: the component creates a key with yearly rotation
   */
  existingKeyArn?: pulumi.Input<string>;
  /**
   * Days a deleted key waits before it is gone; until then a `pulumi destroy` can be undone
   * by cancelling the deletion. Only for a created key.
   * @default 30
   */
  deletionWindowInDays?: number;
}

/**
 * The KMS key that protects everything secret: the tables' server-side encryption, the
 * Lambda's environment, the Canary password or token sealed at deploy time and the Canary
 * token the poller caches. Either created here, with automatic rotation, or brought along.
 */
export class Key extends pulumi.ComponentResource {
  /** The key's ARN, for IAM policies, table encryption and the Lambda environment. */
  readonly arn: pulumi.Output<string>;
  /** The key's id (a UUID), as the console and the CLI show it. */
  readonly keyId: pulumi.Output<string>;
  /** The created key; undefined when an existing key was given. */
  readonly key?: aws.kms.Key;

  constructor(name: string, args: KeyArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("canary-capture:index:Key", name, {}, opts);

    if (args.existingKeyArn !== undefined) {
      this.arn = pulumi.output(args.existingKeyArn);
      // A key ARN ends in `key/<id>`; KMS accepts either form wherever a key is named.
      this.keyId = this.arn.apply((arn) => arn.slice(arn.lastIndexOf("/") + 1));
    } else {
      this.key = new aws.kms.Key(
        `${name}-key`,
        {
          description: "canary-capture: tables, Lambda environment and Canary credentials",
          enableKeyRotation: true,
          deletionWindowInDays: args.deletionWindowInDays ?? 30,
        },
        { parent: this },
      );
      this.arn = this.key.arn;
      this.keyId = this.key.keyId;
    }

    this.registerOutputs({ arn: this.arn, keyId: this.keyId });
  }
}
