"""Stands in for pandas in the benchmark runs of batch-uploader itself (see bench/common.py).

pandas is installed for the baselines, and pyarrow imports it, when present, the first time
it converts Python objects (~0.4 s). A user's install has no pandas, so the tool is measured
the way it is installed: this package is first on PYTHONPATH and refuses to import.
"""

msg = "pandas is hidden from batch-uploader's benchmark runs: a user's install has none"
raise ImportError(msg)
