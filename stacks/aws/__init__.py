"""AWS: the Lambda function behind a public Function URL, its scheduled jobs, its private
buckets and the Athena table over the compacted events. See docs/deploying.md."""

from stacks.aws.function import AwsFunction, AwsOutputs

__all__ = ["AwsFunction", "AwsOutputs"]
