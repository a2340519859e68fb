import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface ScheduleArgs {
  /** Name of the function to invoke. */
  functionName: pulumi.Input<string>;
  /** ARN of the function to invoke. */
  functionArn: pulumi.Input<string>;
  /**
   * EventBridge schedule expression, `rate(...)` or `cron(...)`.
   * @default "rate(5 minutes)"
   */
  scheduleExpression?: pulumi.Input<string>;
}

/**
 * Invokes the poller on a schedule through an EventBridge rule. The target never retries:
 * every run re-reads the window since the stored cursor, so a missed run costs nothing
 * that the next one does not fetch.
 */
export class Schedule extends pulumi.ComponentResource {
  readonly rule: aws.cloudwatch.EventRule;

  constructor(name: string, args: ScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("canary-capture:index:Schedule", name, {}, opts);

    this.rule = new aws.cloudwatch.EventRule(
      `${name}-schedule`,
      {
        description: "canary-capture: one poll cycle",
        scheduleExpression: args.scheduleExpression ?? "rate(5 minutes)",
      },
      { parent: this },
    );

    // Only this rule may invoke the function through EventBridge.
    const permission = new aws.lambda.Permission(
      `${name}-schedule-permission`,
      {
        action: "lambda:InvokeFunction",
        function: args.functionName,
        principal: "events.amazonaws.com",
        sourceArn: this.rule.arn,
      },
      { parent: this },
    );

    new aws.cloudwatch.EventTarget(
      `${name}-schedule-target`,
      {
        rule: this.rule.name,
        arn: args.functionArn,
        retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 },
      },
      { parent: this, dependsOn: [permission] },
    );

    this.registerOutputs({ ruleArn: this.rule.arn });
  }
}
