"""The camera's frames to the web server in the same process: no serialization, no copy, no ROS hop.

pipeline_node (server.launch pipeline:=one_process) runs the capture and the built-in web
server in one node. There the web server's subscriptions to the camera's own two topics are
served here: the camera's JPEG reaches the fan-out as the very bytes object the source read,
raw pixels as the array the node would publish, in the capture thread. ROS 1 has nodelets
only for C++; this is the same idea in Python. No rospy here.
"""
import threading
import traceback

from camera_server.image_codec import image_fields
from camera_server.messages import CompressedMessage, ImageMessage


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

    ``subscribe`` is what StreamHub calls (see fanout.StreamHub): the camera's two topics get
    their frames from ``deliver`` (called by capture_node.CaptureNode in the capture thread, as
    rospy's subscriber thread would call them), any other topic goes to ``other_subscribe``
    (web_server_node.RosTopics.subscribe). ``log`` has error().
    """

    def __init__(self, image_topic, compressed_topic, encoding, other_subscribe, log):
        self.image_topic, self.compressed_topic = image_topic, compressed_topic
        self.encoding = encoding
        self._other_subscribe = other_subscribe
        self._log = log
        self._callbacks = {image_topic: (), compressed_topic: ()}  # replaced, never mutated
        self._lock = threading.Lock()
        self._errors_said = set()

    def subscribe(self, topic, msg_type, callback):
        if topic not in self._callbacks:
            return self._other_subscribe(topic, msg_type, callback)
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
                    self._log.error('web server callback for %s failed: %s' % (topic, error))
