"""The CI rule for skips: a missing heavy dependency is a skip locally and a failure under CI=true."""
import os

import pytest

IN_CI = os.environ.get('CI') == 'true'


def require(condition, reason):
    """Skip when a heavy dependency is missing locally; in CI (CI=true) that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail('CI=true but %s' % reason)
    pytest.skip(reason)
