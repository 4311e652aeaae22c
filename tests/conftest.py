"""Shared pytest setup: the real-server fixtures live in dataward.testing.fixtures (session-scoped)."""

import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["dataward.testing.fixtures"]


@pytest.fixture(scope="session", autouse=True)
def _config_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keys dataward creates in the user's config folder (the audit signing key) go to a temporary one."""
    before = os.environ.get("DATAWARD_CONFIG_DIR")
    os.environ["DATAWARD_CONFIG_DIR"] = str(tmp_path_factory.mktemp("dataward-config"))
    yield
    if before is None:
        os.environ.pop("DATAWARD_CONFIG_DIR", None)
    else:
        os.environ["DATAWARD_CONFIG_DIR"] = before
