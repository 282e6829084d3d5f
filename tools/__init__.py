"""Tooling shared by the tests and the benchmark, apart from the product: emulators and child
processes on 127.0.0.1, the platforms' request builders, the counting proxy, built archives run
as their platform runs them. What `make` runs for users stays in scripts/."""
