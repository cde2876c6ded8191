"""Tools for development, tests and benchmarks; never in the stemworker image."""
