"""Azure Functions adapter (Python v2 programming model), Blob Storage."""
