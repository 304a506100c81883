"""What the tests of every tier share: clients, fake topics, known images, the ROS master, rigs.

test/conftest.py puts test/ and src/ on sys.path, so every test imports these the same way:
``from support.stream_client import MjpegStream``. Scripts run as their own process
(topic_tool.py, netns_client.py, test/ros/capture_checks.py, test/system/py27/) put test/ on
sys.path first. Python 2.7 imports this package too (check_logic.py): standard library only.
"""
import contextlib
import os

SUPPORT_DIR = os.path.dirname(os.path.abspath(__file__))
TEST_DIR = os.path.dirname(SUPPORT_DIR)
REPO = os.path.dirname(TEST_DIR)


@contextlib.contextmanager
def made_and_closed(cls):
    """For a factory fixture: gives ``make(**config)``, which builds a ``cls``; on leaving,
    closes every one it built."""
    made = []

    def make(**config):
        made.append(cls(**config))
        return made[-1]
    try:
        yield make
    finally:
        for item in made:
            item.close()
