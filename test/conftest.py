"""Shared pytest set-up: imports, the tier and time limit of each test, and the fixtures every tier uses.

Every test imports camera_server from this checkout (src/) and its helpers from test/support/.
A test's tier is the folder it lives in (unit, server, ros, system); pytest.ini names the
tiers and the requirement markers (docker, browser, ...) that tests add themselves.
Every test has a time limit: its own ``@pytest.mark.timeout(s)``, else its tier's. pytest-timeout
(Debian: python3-pytest-timeout) enforces it; without the plugin a SIGALRM here does.
"""
import os
import signal
import sys

import pytest

TEST_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [TEST_DIR, os.path.join(os.path.dirname(TEST_DIR), 'src')]
from support import made_and_closed  # noqa: E402 (needs the path above)

# A machine may set PYTHONUNBUFFERED=1 for every process (this one does); a fresh one does not,
# and the nodes' logs must reach a pipe as they happen without it: the tests run without it.
os.environ.pop('PYTHONUNBUFFERED', None)


def pytest_configure(config):
    # pytest-random-order (installed for the shuffled runs) reads --failed-first, which only the
    # cache plugin defines: without this, every run with -p no:cacheprovider (tools/test's) ends
    # in an INTERNALERROR before the first test.
    if not hasattr(config.option, 'failedfirst'):
        config.option.failedfirst = False


# Each tier's time limit per test (setup and teardown included), in s: about ten times the
# slowest test of the tier on a quiet 2-core machine, so that a loaded machine stays green
# and a hang still ends. Tests that build images or provision set their own, larger limits.
TIER_TIMEOUTS_S = {'unit': 60, 'server': 300, 'ros': 300, 'system': 600}


def pytest_collection_modifyitems(items):
    """Marks each test with the tier of its folder and, unless it has its own, the tier's
    time limit; a test outside the tier folders is an error."""
    for item in items:
        tier = os.path.relpath(str(item.fspath), TEST_DIR).split(os.sep)[0]
        if tier not in TIER_TIMEOUTS_S:
            raise pytest.UsageError('%s is outside the tier folders %s of test/'
                                    % (item.nodeid, sorted(TIER_TIMEOUTS_S)))
        item.add_marker(tier)
        if item.get_closest_marker('timeout') is None:
            item.add_marker(pytest.mark.timeout(TIER_TIMEOUTS_S[tier]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """The time limit by SIGALRM when pytest-timeout is not installed."""
    if item.config.pluginmanager.hasplugin('timeout'):
        yield
        return
    seconds = item.get_closest_marker('timeout').args[0]

    def expired(signum, frame):
        pytest.fail('Timeout >%ss (SIGALRM of test/conftest.py: pytest-timeout is not installed)' % seconds)
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(int(seconds))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


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
    with made_and_closed(Harness) as make:
        yield make


@pytest.fixture
def webkit():
    """A real WebKit (WebKitGTK's MiniBrowser under Xvfb) driven in real time over WebDriver (support/webkit.py)."""
    from support.webkit import WebKit  # imported here: it needs cv2, which not every test does
    with WebKit() as engine:
        yield engine
