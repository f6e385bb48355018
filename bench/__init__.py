"""The benchmark suite: `python -m bench` (or `make bench`) measures and writes BENCHMARKS.md.

Benchmarks report; they never fail a build and nothing under tests/ runs them:

- dryrun:  whole `upload --dry-run --offline` commands on 5k, 100k (.csv, .xlsx) and 1M-row
           (.csv) exports: wall, peak memory, progress while loading;
- send:    shipments per second against the sandbox's strict 2/s limit and the end-to-end
           overhead, vs a naive hand-written sender;
- scale:   one CLI process driving 50 source tokens at once: aggregate rate, 429s, CPU;
- wholepo: whole-PO rows (no items): requests per shipment created, and the rate left.

Generated inputs live in bench/out/ (git-ignored) and are made once.
"""
