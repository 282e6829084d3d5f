"""The embedded default: files on disk, served by a real WSGI server."""
