"""One Spark session for the whole test run: starting the JVM costs several seconds."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local[2] Spark session (enseigne's settings), stopped at the end of the run."""
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17 on PATH")
    from enseigne.metrics.backends import spark_session, stop_spark

    session = spark_session()
    yield session
    stop_spark()
