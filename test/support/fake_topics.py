"""Fake ROS topics for the fan-out and web server tests: synthetic frames, counted subscriptions."""
import threading
import time

import cv2

from camera_server.messages import COMPRESSED_TYPE, IMAGE_TYPE, CompressedMessage, ImageMessage
from support.frames import make_frame

STAMP_BASE = 1000.0  # frame i carries the stamp STAMP_BASE + i, so a client can tell which frame it got


def frame_index(stamp):
    return int(round(stamp - STAMP_BASE))


def image_source(index, width=320, height=240, kind='indexed', stamp=None):
    img = make_frame(index, width, height, kind)
    return ImageMessage(STAMP_BASE + index if stamp is None else stamp, 'bgr8', height, width, width * 3,
                       img.tobytes(), 0)


def compressed_source(index, width=320, height=240, quality=80, stamp=None, kind='indexed'):
    img = make_frame(index, width, height, kind)
    ok, buf = cv2.imencode('.jpg', img, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    assert ok
    return CompressedMessage(STAMP_BASE + index if stamp is None else stamp, 'jpeg', buf.tobytes())


class _Subscription(object):
    def __init__(self, topics, topic, callback):
        self.topics, self.topic, self.callback = topics, topic, callback

    def unregister(self):
        with self.topics.lock:
            self.topics.live.remove(self)

    def get_num_connections(self):
        """Publishers connected, as rospy.Subscriber's: none once the test says the topic's publisher left."""
        return 0 if self.topic in self.topics.gone else 1


class FakeTopics(object):
    """topic_types() and subscribe() for CameraWebServer / StreamHub, plus publish()."""

    def __init__(self, types=None):
        self.types = dict(types or {})
        self.lock = threading.Lock()
        self.live = []
        self.subscribe_calls = 0
        self.gone = set()  # topics whose publisher left (get_num_connections() == 0)

    def topic_types(self):
        return dict(self.types)

    def subscribe(self, topic, msg_type, callback):
        assert self.types.get(topic) == msg_type, 'subscribed %s as %s' % (topic, msg_type)
        with self.lock:
            self.subscribe_calls += 1
            sub = _Subscription(self, topic, callback)
            self.live.append(sub)
            return sub

    def subscriptions(self, topic=None):
        with self.lock:
            return [s for s in self.live if topic is None or s.topic == topic]

    def publish(self, topic, source):
        for sub in self.subscriptions(topic):
            sub.callback(source)


class Camera(object):
    """Publishes frames on ``topic`` (raw) and ``topic``/compressed at ``fps`` in a thread, like the capture node."""

    def __init__(self, topics, topic='/camera/image_raw', fps=30.0, width=320, height=240,
                 compressed=True, noise=False, video=False):
        """``video``: detailed moving frames stamped with the wall clock (``stamps`` maps stamp -> index)."""
        self.topics, self.topic, self.fps = topics, topic, fps
        self.width, self.height, self.compressed = width, height, compressed
        self.kind = 'noise' if noise else 'detailed' if video else 'indexed'
        self.video = video
        self.stamps = {}
        topics.types[topic] = IMAGE_TYPE
        if compressed:
            topics.types[topic + '/compressed'] = COMPRESSED_TYPE
        self.published = {}  # index -> compressed bytes, for byte-for-byte checks
        self.index = 0
        self.paused = threading.Event()  # set: the camera is unplugged, nothing is published
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='fake camera %s' % topic)
        self._thread.daemon = True

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    def _run(self):
        period = 1.0 / self.fps
        next_time = time.time()
        while not self._stop.is_set():
            if self.paused.is_set():
                next_time = time.time() + period
                self._stop.wait(period)
                continue
            self.index += 1
            stamp = None
            if self.video:
                stamp = round(time.time(), 3)
                self.stamps[stamp] = self.index
            # Lazy like the capture node: only what has subscribers is produced.
            if self.topics.subscriptions(self.topic):
                self.topics.publish(self.topic, image_source(self.index, self.width, self.height, self.kind, stamp))
            if self.compressed and self.topics.subscriptions(self.topic + '/compressed'):
                source = compressed_source(self.index, self.width, self.height, stamp=stamp,
                                           kind='detailed' if self.video else 'indexed')
                self.published[self.index] = source.data
                self.topics.publish(self.topic + '/compressed', source)
            next_time += period
            self._stop.wait(max(0.0, next_time - time.time()))
