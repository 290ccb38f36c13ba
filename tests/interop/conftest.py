"""The interoperability tests share the session's real server (see ``realserver``)."""

from __future__ import annotations

import pytest

from .realserver import Integration, RealServer, shared_server


@pytest.fixture(scope="session")
def server(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> RealServer:
    return shared_server(pytestconfig, tmp_path_factory)


@pytest.fixture
def integration(server: RealServer) -> Integration:
    return server.integration()
