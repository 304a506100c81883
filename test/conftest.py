"""Shared pytest set-up: import camera_server from this checkout, and the CI rule for skips."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'src'))

IN_CI = os.environ.get('CI') == 'true'


def require(condition, reason):
    """Skip when a heavy dependency is missing locally; in CI (CI=true) that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail('CI=true but %s' % reason)
    pytest.skip(reason)


@pytest.fixture
def browser():
    """A real headless Chromium driven in real time over DevTools (test/devtools.py); killed after the test."""
    from devtools import Chromium  # imported here: it needs cv2, which not every test does
    with Chromium() as chromium:
        yield chromium


@pytest.fixture
def webkit():
    """A real WebKit (WebKitGTK's MiniBrowser under Xvfb) driven in real time over WebDriver (test/webkit.py)."""
    from webkit import WebKit  # imported here: it needs cv2, which not every test does
    with WebKit() as engine:
        yield engine
