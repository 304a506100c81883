"""The one-process node's hand-off: frames to the web server's subscriptions in memory, the same
stamps as the ROS messages, other topics left to rospy, a failing callback said once."""
import random

import numpy as np
import pytest

from camera_server.in_process_topics import InProcessTopics
from camera_server.messages import CompressedMessage, ImageMessage, header_seconds

IMAGE, COMPRESSED = '/cam/image_raw', '/cam/image_raw/compressed'


class ListLog(object):
    def __init__(self):
        self.errors = []

    def error(self, line):
        self.errors.append(line)


def test_header_seconds_are_the_stamps_of_ros_messages():
    rospy = pytest.importorskip('rospy', reason='rospy is not installed')
    rng = random.Random(18)
    for stamp in [0.0, 1.5, 1796541869.186803] + [rng.uniform(0, 2e9) for _ in range(10000)]:
        assert header_seconds(stamp) == rospy.Time.from_sec(stamp).to_sec(), repr(stamp)


def test_frames_reach_the_subscribed_callbacks_as_the_same_objects():
    ros = []
    topics = InProcessTopics(IMAGE, COMPRESSED, 'bgr8', lambda *args: ros.append(args), ListLog())
    got = []
    assert topics.wanted() == (False, False)
    jpeg_subscription = topics.subscribe(COMPRESSED, 'sensor_msgs/CompressedImage', got.append)
    assert topics.wanted() == (False, True) and jpeg_subscription.get_num_connections() == 1
    jpeg = b'\xff\xd8 the camera JPEG \xff\xd9'
    topics.deliver(12.5, None, jpeg, 'jpeg')
    assert got == [CompressedMessage(12.5, 'jpeg', jpeg)] and got[0].data is jpeg, got
    raw = topics.subscribe(IMAGE, 'sensor_msgs/Image', got.append)
    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    topics.deliver(13.0, image[:, 1:5], None, None)  # not contiguous: the message holds its rows
    message = got[-1]
    assert isinstance(message, ImageMessage) and (message.width, message.height, message.step) == (4, 4, 12)
    assert np.array_equal(np.frombuffer(message.data, np.uint8).reshape(4, 4, 3), image[:, 1:5])
    raw.unregister()
    jpeg_subscription.unregister()
    assert topics.wanted() == (False, False)
    topics.subscribe('/other/image_raw', 'sensor_msgs/Image', got.append)
    assert [args[0] for args in ros] == ['/other/image_raw']


def test_a_failing_callback_is_logged_once_and_the_others_still_get_frames():
    log, got = ListLog(), []
    topics = InProcessTopics(IMAGE, COMPRESSED, 'bgr8', None, log)

    def broken(message):
        raise KeyError('a defect in the web server')
    topics.subscribe(COMPRESSED, 'sensor_msgs/CompressedImage', broken)
    topics.subscribe(COMPRESSED, 'sensor_msgs/CompressedImage', got.append)
    for index in range(5):
        topics.deliver(float(index), None, b'\xff\xd8\xff\xd9', 'jpeg')
    assert len(got) == 5 and len(log.errors) == 1 and 'a defect in the web server' in log.errors[0], log.errors
