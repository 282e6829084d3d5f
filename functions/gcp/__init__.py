"""Google Cloud Functions (2nd gen) adapter: functions-framework HTTP, Cloud Storage."""
