"""The calendar benchmark: ``python -m bench`` (or ``make bench``); see README.md, "Benchmark"."""
