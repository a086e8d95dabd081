"""Request metrics as Prometheus reads them: counts, buckets and sums (api/metrics.py)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from api.metrics import LATENCY_BUCKETS, Metrics


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_requests_are_counted_by_route_method_and_status() -> None:
    metrics = Metrics()
    for method, status, seconds in [
        ("GET", 200, 0.0004),
        ("GET", 200, 0.001),  # on a bound: counted in that bucket (le means <=)
        ("HEAD", 200, 0.003),
        ("GET", 304, 0.0002),
        ("GET", 200, 9.0),  # past the last bound: +Inf only
    ]:
        metrics.observe_request("/v1/site", method, status, seconds)
    found = samples(metrics)

    def total(method: str, status: str) -> float:
        labels = (("method", method), ("route", "/v1/site"), ("status", status))
        return found[("clinic_http_requests_total", labels)]

    assert total("GET", "200") == 3
    assert total("HEAD", "200") == 1
    assert total("GET", "304") == 1

    def bucket(le: str, status: str = "200") -> float:
        labels = (("le", le), ("route", "/v1/site"), ("status", status))
        return found[("clinic_http_request_duration_seconds_bucket", labels)]

    # The histogram is per route and status, over both methods; buckets are cumulative.
    assert bucket("0.001") == 2
    assert bucket("0.0025") == 2
    assert bucket("0.005") == 3
    assert bucket("5.0") == 3
    assert bucket("+Inf") == 4
    assert bucket("0.001", "304") == 1
    labels = (("route", "/v1/site"), ("status", "200"))
    assert found[("clinic_http_request_duration_seconds_count", labels)] == 4
    assert abs(found[("clinic_http_request_duration_seconds_sum", labels)] - 9.0044) < 1e-9
    bounds = {dict(k[1])["le"] for k in found if k[0].endswith("_bucket")}
    assert len(bounds) == len(LATENCY_BUCKETS) + 1
