"""GCP: the HTTP app and the jobs as 2nd-gen Cloud Functions, their Cloud Scheduler jobs, the
private buckets and the BigQuery table over the compacted events. See docs/deploying.md."""

from stacks.gcp.function import GcpFunction, GcpOutputs

__all__ = ["GcpFunction", "GcpOutputs"]
