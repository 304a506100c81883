"""Shared pytest set-up: imports, the tier of each test, and the fixtures every tier uses.

Every test imports camera_server from this checkout (src/) and its helpers from test/support/.
A test's tier is the folder it lives in (unit, server, ros, system); pytest.ini names the
tiers and the requirement markers (docker, browser, ...) that tests add themselves.
"""
import os
import sys

import pytest

TEST_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [TEST_DIR, os.path.join(os.path.dirname(TEST_DIR), 'src')]

TIERS = ('unit', 'server', 'ros', 'system')


def pytest_collection_modifyitems(items):
    """Marks each test with the tier of its folder; a test outside the tier folders is an error."""
    for item in items:
        tier = os.path.relpath(str(item.fspath), TEST_DIR).split(os.sep)[0]
        if tier not in TIERS:
            raise pytest.UsageError('%s is outside the tier folders %s of test/' % (item.nodeid, TIERS))
        item.add_marker(tier)


@pytest.fixture
def browser():
    """A real headless Chromium driven in real time over DevTools (support/devtools.py); killed after the test."""
    from support.devtools import Chromium  # imported here: it needs cv2, which not every test does
    with Chromium() as chromium:
        yield chromium


@pytest.fixture
def harness():
    """Makes built-in web servers on port 0 with fake topics (support/web_harness.py); stops them after the test."""
    from support.web_harness import Harness  # imported here: it needs the package, which not every test does
    made = []

    def make(**config):
        made.append(Harness(**config))
        return made[-1]
    yield make
    for item in made:
        item.close()
