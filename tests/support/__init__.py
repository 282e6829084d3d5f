"""Test helpers: fakes, process management, payload loading."""
