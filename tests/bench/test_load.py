"""Reading wrk's report."""

from __future__ import annotations

import pytest

from bench.load import LoadError, parse_wrk

REPORT = """\
Running 3s test @ http://127.0.0.1:37837/bench/reference/2026/8/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.84ms  809.90us   9.63ms   90.28%
    Req/Sec   342.80     34.76   393.00     63.33%
  Latency Distribution
     50%  956.00us
     75%    2.76ms
     90%    3.59ms
     99%    1.02s
  1028 requests in 3.01s, 5.42MB read
  Socket errors: connect 0, read 1028, write 0, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:    341.43
Transfer/sec:      1.80MB
"""


def test_reads_throughput_percentiles_and_real_errors():
    measurement = parse_wrk(REPORT)
    assert measurement.rps == 341.43 and measurement.requests == 1028
    assert measurement.p50_ms == pytest.approx(0.956)
    assert measurement.p99_ms == pytest.approx(1020)
    assert measurement.errors == 7  # read errors are the server closing the connection


def test_refuses_a_report_it_cannot_read():
    with pytest.raises(LoadError):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")
