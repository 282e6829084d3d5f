"""AWS Lambda adapter: Function URL / HTTP API (2.0) and REST API (1.0) events, S3 storage."""
