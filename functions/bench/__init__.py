"""Benchmarks: a load generator, the scenarios of `nox -s bench`, ceilings and reports."""
