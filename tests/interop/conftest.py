"""Fixtures of the interop tests (see ``s3harness`` for what runs and why)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from s3harness import S3Server, start_s3app, stop_s3app


@pytest.fixture(scope="session")
def s3server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_s3app(tmp_path_factory.mktemp("s3app"))
    try:
        yield server
    finally:
        stop_s3app(server)
