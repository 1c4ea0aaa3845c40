"""The fuzz run's reach gate counts each response under the operation it really called."""

from __future__ import annotations

import json
from pathlib import Path

from scripts.fuzz import operation_reach, report_reach
from scripts.generate import ROOT


def _har(tmp_path: Path, *calls: tuple[str, str, int]) -> Path:
    entries = [
        {"request": {"method": method, "url": f"http://127.0.0.1:8000{url}"}, "response": {"status": status}}
        for method, url, status in calls
    ]
    har = tmp_path / "run.har"
    har.write_text(json.dumps({"log": {"entries": entries}}), encoding="utf-8")
    return har


def test_a_literal_path_is_not_counted_under_a_template_that_also_matches_it(tmp_path: Path) -> None:
    har = _har(
        tmp_path,
        ("GET", "/api/v1/users/export?format=csv", 200),
        ("GET", "/api/v1/users/3f0c8a52-6f0e-4d51-9a42-3c0d7f6c8b11", 404),
    )

    reach = operation_reach(ROOT / "spec" / "openapi.yaml", har)

    assert reach["GET /api/v1/users/export"] == {200: 1}
    assert reach["GET /api/v1/users/{user_id}"] == {404: 1}


def test_an_operation_without_a_2xx_is_reported(tmp_path: Path) -> None:
    reach = operation_reach(ROOT / "spec" / "openapi.yaml", _har(tmp_path, ("GET", "/health", 200)))

    missing = report_reach(reach)

    assert "GET /livez" in missing
    assert "GET /health" not in missing
