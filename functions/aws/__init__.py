"""AWS Lambda adapter: Function URL / HTTP API (2.0) and REST API (1.0) events, S3 storage.

Under the Lambda runtime, the cyclic garbage collector is held off from the adapter's first
import until the app has started (functions/core/gc_hold.py; released by
functions/aws/handler.py).
"""

from functions.core import gc_hold
from functions.core.settings import LAMBDA_RUNTIME_API, platform_sets

if platform_sets(LAMBDA_RUNTIME_API):
    gc_hold.hold()
