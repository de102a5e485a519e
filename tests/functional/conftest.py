"""Fixtures of the functional tests (root, real network namespaces)."""

import pytest

from tests.functional import datapath_fixtures as fx


@pytest.fixture
def world(request):
    """Namespaces and links of one test, removed after it."""
    w = fx.World()
    request.addfinalizer(w.cleanup)
    return w
