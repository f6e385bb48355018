"""The benchmark suite: `python -m bench` (or `make bench`) measures and writes BENCHMARKS.md.

Benchmarks report; they never fail a build and nothing under tests/ runs them. Each one
compares batch-uploader with the baseline a user would otherwise write by hand:

- send:   shipments per second against the sandbox's strict 2/s limit, vs a naive sender;
- load:   read + validate + group of a 100k-row .xlsx and a 1M-row .csv, vs a bare pandas read;
- report: the results workbook of 100k rows, vs a bare openpyxl write-only dump;
- tokens: three source tokens at once (only when `upload --tokens` exists), vs one token.

Generated inputs live in bench/out/ (git-ignored) and are made once.
"""
