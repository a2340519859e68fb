import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AlarmsArgs {
  /** Name of the poller function to watch. */
  functionName: pulumi.Input<string>;
  /**
   * Address that receives alarm and recovery e-mails; AWS first mails it a confirmation link.
   * @default undefined: no subscription, the topic can be subscribed to later
   */
  alertEmail?: pulumi.Input<string>;
  /** Seconds per evaluation period; match the poll schedule. @default 300 */
  periodSeconds?: number;
  /** Periods with errors that raise the alarm. @default 1 */
  evaluationPeriods?: number;
}

/**
 * Raises an alarm when the poller fails: an uncaught error, a timeout, or a run whose
 * summary was not ok (the handler throws then), all of which Lambda counts as Errors.
 * Alarm and recovery go to one SNS topic, with an e-mail subscription when an address is set.
 */
export class Alarms extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;
  readonly pollerErrors: aws.cloudwatch.MetricAlarm;

  constructor(name: string, args: AlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("canary-capture:index:Alarms", name, {}, opts);

    // Not encrypted with the stack's key: CloudWatch may only publish to such a topic if
    // the key policy admits it, and alarm messages carry no secrets.
    this.topic = new aws.sns.Topic(`${name}-alerts`, {}, { parent: this });

    if (args.alertEmail !== undefined) {
      new aws.sns.TopicSubscription(
        `${name}-alert-email`,
        { topic: this.topic.arn, protocol: "email", endpoint: args.alertEmail },
        { parent: this },
      );
    }

    this.pollerErrors = new aws.cloudwatch.MetricAlarm(
      `${name}-poller-errors`,
      {
        alarmDescription:
          "canary-capture: a poll run failed; its log group holds the 'poll finished' summary",
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: args.functionName },
        statistic: "Sum",
        period: args.periodSeconds ?? 300,
        evaluationPeriods: args.evaluationPeriods ?? 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        // No invocations means no data, not a failure.
        treatMissingData: "notBreaching",
        alarmActions: [this.topic.arn],
        okActions: [this.topic.arn],
      },
      { parent: this },
    );

    this.registerOutputs({ topicArn: this.topic.arn });
  }
}
