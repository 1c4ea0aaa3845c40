"""Several workers, one view: with PROMETHEUS_MULTIPROC_DIR shared, a scrape of any worker counts every worker."""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
import pytest

from impl.platform.metrics import MULTIPROCESS_ENV, Metrics
from tests.impl.platform.metrics_scrape import sample
from tests.server_processes import server_process


@pytest.mark.slow
def test_a_scrape_of_one_process_counts_the_requests_of_both(tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    with (
        server_process(data_dir=tmp_path / "a", **{MULTIPROCESS_ENV: str(shared)}) as first,
        server_process(data_dir=tmp_path / "b", **{MULTIPROCESS_ENV: str(shared)}) as second,
    ):
        for server, times in ((first, 3), (second, 2)):
            for _ in range(times):
                assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200

        text = httpx.get(f"{first.url}/metrics", timeout=10).text
    assert sample(text, "charter_http_requests_total", method="GET", route="/health", status="200") == 5


def test_a_directory_set_after_prometheus_client_was_imported_is_refused(tmp_path: Path) -> None:
    # This test process imported prometheus_client without the variable: its values live in memory only, and a
    # "multiprocess" registry would silently report nothing of the others.
    with pytest.raises(RuntimeError, match="before the process starts"):
        Metrics(multiprocess_dir=tmp_path)
