"""LAMBDA: one HTTP app for AWS Lambda, Google Cloud Functions and Azure Functions."""

__version__ = "0.1.0"
