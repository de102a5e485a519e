"""The stats and parsing helpers of tools/bench.py (no lab needed)."""

import ast
import importlib.util
import os
import sys

import pytest

_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tools", "bench.py")
_spec = importlib.util.spec_from_file_location("skynet_tools_bench", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_module_level_imports_are_standard_library_only():
    with open(_PATH) as f:
        tree = ast.parse(f.read())
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module)
    assert names
    assert [n for n in names if n.split(".")[0] not in sys.stdlib_module_names] == []


@pytest.mark.parametrize("p, expected", [
    (0, 1.0), (50, 2.5), (100, 4.0), (25, 1.75), (95, 3.85),
])
def test_percentile_interpolates_like_numpy(p, expected):
    assert bench.percentile([4, 1, 3, 2], p) == pytest.approx(expected)


def test_percentile_edge_cases():
    assert bench.percentile([], 50) is None
    assert bench.percentile([7], 95) == 7
    assert bench.percentile([5, 5, 5], 50) == 5
    with pytest.raises(ValueError):
        bench.percentile([1], 101)


def test_percentile_does_not_reorder_input():
    data = [3, 1, 2]
    bench.percentile(data, 50)
    assert data == [3, 1, 2]


def test_summarize():
    s = bench.summarize(range(1, 21))
    assert s["n"] == 20 and s["min"] == 1 and s["max"] == 20
    assert s["p50"] == pytest.approx(10.5)
    assert s["p95"] == pytest.approx(19.05)
    assert s["mean"] == pytest.approx(10.5)
    empty = bench.summarize([])
    assert empty["n"] == 0 and empty["p50"] is None


def test_rate():
    assert bench.rate(20, 4.0) == 5.0
    assert bench.rate(0, 4.0) is None
    assert bench.rate(3, 0) is None
    assert bench.rate(3, None) is None


LOG = """\
2026-12-03 17:37:14.123 123 INFO skynet.cni.handler [-] ADD default/p: port 1 ['10.0.0.5']
2026-12-03 17:37:14.200 123 INFO skynet.cni.handler [-] ADD API calls: neutron=3 \
GET:/networks/c11e5dd3-0d3b-4c7d-a8cb-71dc98df74b5 GET:/subnets POST:/ports; kubernetes=1 \
GET:/api/v1/namespaces/default/pods/skbench-1
2026-12-03 17:37:16.000 124 INFO skynet.cni.handler [-] DEL API calls: neutron=2 GET:/ports \
DELETE:/ports/0b6a4d3e-7c1f-4a53-9d0e-3f6f2f3b1a11; kubernetes=0
"""


def test_parse_api_calls():
    recs = bench.parse_api_calls(LOG)
    assert [r["verb"] for r in recs] == ["ADD", "DEL"]
    add, dele = recs
    assert (add["neutron"], add["kubernetes"], add["total"]) == (3, 1, 4)
    assert add["calls"][-1] == "kubernetes GET:/api/v1/namespaces/default/pods/skbench-1"
    assert (dele["neutron"], dele["kubernetes"], dele["total"]) == (2, 0, 2)
    assert bench.parse_api_calls("nothing here\n") == []


def test_api_call_stats_folds_ids():
    add = bench.parse_api_calls(LOG)[:1]
    other = dict(add[0], neutron=4, total=5, calls=add[0]["calls"] + ["neutron PUT:/x"])
    st = bench.api_call_stats(add * 3 + [other])
    assert st["n"] == 4
    assert st["total_max"] == 5 and st["total_avg"] == pytest.approx(4.25)
    assert st["kubernetes_avg"] == 1
    seq, count = st["sequences"][0]
    assert count == 3
    assert "GET:/networks/<id>" in seq and "/pods/<pod>" in seq
    assert bench.api_call_stats([])["total_max"] is None


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:       262 |        262 |   _io
import time:       604 |       1424 | _frozen_importlib_external
import time:       100 |        100 |       b.deep
import time:       200 |        300 |     b.x
import time:        50 |         50 |     c
import time:      1000 |       1350 |   b
import time:        10 |         10 |   d
import time:         5 |       1365 | site
import time:         3 |          3 | mine
"""


def test_parse_importtime_and_helpers():
    entries = bench.parse_importtime(IMPORTTIME)
    assert entries[0] == {"module": "_io", "self_us": 262, "cumulative_us": 262, "depth": 1}
    assert [e["depth"] for e in entries] == [1, 0, 3, 2, 2, 1, 1, 0, 0]
    assert bench.import_cumulative_us(entries, "site") == 1365
    assert bench.import_cumulative_us(entries, "nope") is None
    assert bench.children(entries, "site") == [("b", 1350), ("d", 10)]
    assert bench.children(entries, "b") == [("b.x", 300), ("c", 50)]
    assert bench.children(entries, "nope") == []
    pk = bench.package_self_times(entries)
    assert pk[0] == ("b", 1300)
    assert ("_io", 262) in pk


def test_non_stdlib():
    assert bench.non_stdlib(["json", "os.path", "skynet.cni", "requests.adapters",
                             "_distutils_hack", "yaml"]) == ["requests", "yaml"]


def test_render_table_and_formatting():
    assert bench.fmt_pair({"p50": 12.4, "p95": 30.6}) == "12 / 31"
    assert bench.fmt_pair(None) == "-"
    assert bench.verdict(True) == "PASS" and bench.verdict(False) == "MISS"
    assert bench.verdict(None) == "-"
    text = bench.render_table(["", "a", "b"], [["row one", "1", "22"], [], ["r2", "333", ""]])
    lines = text.splitlines()
    assert lines[2] == "row one    1  22"
    assert lines[3] == ""
    assert len({len(line) for line in lines[:2]}) == 1


def test_build_rows_targets():
    ms = {"p50": 1500.0, "p95": 2000.0}
    raw = {"ms": {"p50": 600.0, "p95": 700.0}, "per_s": 1.6, "failed": 0, "count": 20}
    res = {
        "subjects": {
            "skynet": {"seq": {"ADD": {"ms": ms, "per_s": 0.5, "failed": 1, "count": 20}}},
            "raw Neutron": {"seq": {"ADD": raw}},
        },
        "api_calls": {"ADD": {"n": 20, "total_avg": 4.0, "total_max": 5,
                              "neutron_avg": 3.0, "kubernetes_avg": 1.0}},
        "process": {"version_ms": {"p50": 50.0, "p95": 70.0}, "version_non_stdlib": []},
    }
    rows = {r[0]: r for r in bench.build_rows(res, 8) if r}
    assert rows["ADD seq p50 / p95 (ms)"][-1] == "PASS"     # 1500 <= 600 + 1000
    assert rows["ADD failures"][1] == "1/20"
    assert rows["API calls per ADD avg / max"][-1] == "MISS"
    assert rows["VERSION p50 / p95 (ms)"][-1] == "PASS"
    assert rows["VERSION non-stdlib imports"][-1] == "PASS"
