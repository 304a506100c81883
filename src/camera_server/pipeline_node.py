"""The camera and the built-in web server in one rospy node (server.launch pipeline:=one_process).

The capture thread hands each frame to the web server's fan-out in memory: the camera's own
JPEG reaches the viewers as the same bytes object the source read, raw pixels as the array
the node would publish, with no serialization, no copy and no ROS connection in between
(ROS 1 has no nodelets for Python; this is the same idea in one process). The node still
publishes ``~image_raw``, ``~image_raw/compressed`` and ``~camera_info`` for other
subscribers, only while they have some; every other topic is served from ROS, as by the
web_server node. Parameters: the capture node's and the web server's, both private to this
node. Measured against the two nodes: see docs/benchmark.md.
"""
import threading
import traceback

import rospy

from camera_server.capture_node import CaptureNode
from camera_server.capture_params import CAPTURE_PARAMS, read_capture_config
from camera_server.image_codec import image_fields
from camera_server.messages import CompressedMessage, ImageMessage
from camera_server.ros_node import RosLog, configured, init_node, private_param, warn_unknown_parameters, watch_master
from camera_server.web_params import WEB_PARAMS
from camera_server.web_server_node import RosTopics, read_config, start_server


class InProcessSubscription(object):
    """What StreamHub needs of a subscription (as a rospy.Subscriber): the publisher is this process."""

    def __init__(self, topics, topic, callback):
        self._topics, self._topic, self._callback = topics, topic, callback

    def unregister(self):
        self._topics.remove(self._topic, self._callback)

    @staticmethod
    def get_num_connections():
        return 1


class InProcessTopics(object):
    """The camera's ``image_raw`` and ``image_raw/compressed`` for the web server in this process.

    ``subscribe`` has rospy.Subscriber's part that StreamHub uses: the camera's two topics get
    their frames from ``deliver`` (called by CaptureNode in the capture thread, as rospy's
    subscriber thread would call them), any other topic goes to RosTopics.subscribe.
    """

    def __init__(self, image_topic, compressed_topic, encoding):
        self.image_topic, self.compressed_topic = image_topic, compressed_topic
        self.encoding = encoding
        self._callbacks = {image_topic: (), compressed_topic: ()}  # replaced, never mutated
        self._lock = threading.Lock()
        self._errors_said = set()

    def subscribe(self, topic, msg_type, callback):
        if topic not in self._callbacks:
            return RosTopics.subscribe(topic, msg_type, callback)
        with self._lock:
            self._callbacks[topic] += (callback,)
        return InProcessSubscription(self, topic, callback)

    def remove(self, topic, callback):
        with self._lock:
            self._callbacks[topic] = tuple(c for c in self._callbacks[topic] if c is not callback)

    def wanted(self):
        """(raw pixels wanted, JPEG wanted) by the subscriptions now."""
        return bool(self._callbacks[self.image_topic]), bool(self._callbacks[self.compressed_topic])

    def deliver(self, stamp, image, jpeg, jpeg_format):
        """One frame: ``image`` an array in the node's encoding, ``jpeg`` the bytes; each may be None."""
        if image is not None:
            height, width, step, pixels = image_fields(image)
            self._call(self.image_topic, ImageMessage(stamp, self.encoding, height, width, step,
                                                      pixels.reshape(-1), 0))
        if jpeg is not None:
            self._call(self.compressed_topic, CompressedMessage(stamp, jpeg_format, jpeg))

    def _call(self, topic, message):
        for callback in self._callbacks[topic]:
            try:
                callback(message)
            except Exception:  # a defect in the web server must not stop the camera (rospy's callbacks: the same)
                error = traceback.format_exc()
                if error not in self._errors_said:  # once, not at the frame rate
                    self._errors_said.add(error)
                    RosLog.error('web server callback for %s failed: %s' % (topic, error))


def main():
    signals = init_node('camera')
    rospy.loginfo('pipeline:=one_process: the camera and the built-in web server in one process; '
                  'the camera\'s frames reach the web server in memory')
    capture_config = configured(lambda: read_capture_config(private_param))
    address, port, web_config = read_config()
    topics = InProcessTopics(rospy.resolve_name('~image_raw'), rospy.resolve_name('~image_raw/compressed'),
                             capture_config['encoding'])
    node = configured(lambda: CaptureNode(capture_config, local=topics))
    node.log_parameters()
    warn_unknown_parameters(CAPTURE_PARAMS + WEB_PARAMS)
    start_server(address, port, web_config, topics.subscribe)
    watch_master()
    node.spin()
    signals.done()
