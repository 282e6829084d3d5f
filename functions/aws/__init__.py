"""AWS Lambda adapter: Function URL / HTTP API (2.0) and REST API (1.0) events, S3 storage.

Under the Lambda runtime (which sets `AWS_LAMBDA_RUNTIME_API` in every function), the cyclic
garbage collector is held off from the adapter's first import until the app has started
(functions/core/gc_hold.py; released by functions/aws/handler.py).
"""

import os

if "AWS_LAMBDA_RUNTIME_API" in os.environ:
    from functions.core import gc_hold

    gc_hold.hold()
