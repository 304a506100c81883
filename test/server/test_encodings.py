"""Every ROS image encoding shows its known picture: read by image_codec (bgr8, rgb8, mono8 by
hand, the rest through cv_bridge), served by the web server from fake topics, and once from
real ROS topics published by another process.

Streams are read as PNG (lossless), so the colours compared are the server's own.
"""
import threading

import numpy as np
import pytest

from camera_server import image_codec, render
from camera_server.messages import IMAGE_TYPE, ImageMessage
from camera_server.url_api import OutputSpec
from camera_server.web_params import DEFAULT_CONFIG
from camera_server.web_server import CameraWebServer
from support.ci import require
from support.fake_topics import FakeTopics
from support.known_images import COLOUR_ENCODINGS, GREY_ENCODINGS, RAMP_ENCODINGS, message_fields, shown
from support.web_checks import read_png_frame

ALL = COLOUR_ENCODINGS + GREY_ENCODINGS + RAMP_ENCODINGS
JPEG = OutputSpec('jpeg', -1, -1, None, False)


@pytest.fixture(scope='module')
def bridge():
    require(image_codec.cv_bridge() is not None, 'cv_bridge is not installed (Debian: python3-cv-bridge)')


@pytest.mark.parametrize('encoding', ALL + ['16UC1 big-endian'])
def test_image_codec_reads_the_known_picture(bridge, encoding):
    name, _, order = encoding.partition(' ')
    image = image_codec.array_from_image_msg(*message_fields(name, big_endian=bool(order)))
    error, tolerance = shown(np.dstack([image] * 3) if image.ndim == 2 else image, name)
    assert error <= tolerance, '%s: off by up to %d per channel (tolerance %d)' % (encoding, error, tolerance)


def test_bayer_red_is_red_and_a_wrong_pattern_is_not(bridge):
    fields = list(message_fields('bayer_rggb8'))
    red = image_codec.array_from_image_msg(*fields)[20:28, 4:12].reshape(-1, 3).mean(axis=0)
    fields[0] = 'bayer_bggr8'  # the same bytes read with the wrong pattern: red becomes blue
    wrong = image_codec.array_from_image_msg(*fields)[20:28, 4:12].reshape(-1, 3).mean(axis=0)
    assert red[2] > 250 and red[:2].max() < 5, 'rggb red band shows BGR %s' % red
    assert wrong[0] > 250 and wrong[1:].max() < 5, 'read as bggr the red band shows BGR %s' % wrong


def test_unknown_encoding_and_missing_cv_bridge_are_named(bridge, monkeypatch):
    with pytest.raises(render.RenderError, match='nv21'):
        render.render(ImageMessage(0.0, 'nv21', 2, 2, 4, b'\0' * 8, 0), JPEG)
    monkeypatch.setattr(image_codec, '_BRIDGE', [None])
    with pytest.raises(image_codec.UnsupportedEncoding) as error:
        image_codec.array_from_image_msg(*message_fields('bayer_rggb8'))
    assert 'bayer_rggb8' in str(error.value) and 'python3-cv-bridge' in str(error.value), str(error.value)
    for encoding in ('bgr8', 'rgb8', 'mono8'):  # the fast path needs no cv_bridge
        image = image_codec.array_from_image_msg(*message_fields(encoding))
        error, tolerance = shown(np.dstack([image] * 3) if image.ndim == 2 else image, encoding)
        assert error <= tolerance, (encoding, error)


class Publisher(object):
    """Publishes the known picture of every encoding on /known/<encoding> at 20 Hz (fake topics)."""

    def __init__(self, topics, encodings):
        self.topics, self.encodings = topics, encodings
        for encoding in encodings:
            topics.types['/known/' + encoding] = IMAGE_TYPE
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, name='known image publisher')
        self.thread.start()

    def run(self):
        stamp = 1000.0
        while not self.done.wait(0.05):
            stamp += 0.05
            for encoding in self.encodings:
                self.topics.publish('/known/' + encoding, ImageMessage(stamp, *message_fields(encoding)))

    def stop(self):
        self.done.set()
        self.thread.join(5)


def test_web_server_shows_every_encoding(bridge):
    topics = FakeTopics()
    server = CameraWebServer(('127.0.0.1', 0), DEFAULT_CONFIG, topics.topic_types, topics.subscribe)
    server.start()
    publisher = Publisher(topics, ALL)
    try:
        errors = {}
        for encoding in ALL:
            errors[encoding] = shown(read_png_frame(server.port, '/known/' + encoding), encoding)
    finally:
        publisher.stop()
        server.stop()
    bad = dict((encoding, found) for encoding, found in errors.items() if found[0] > found[1])
    assert not bad, 'encodings off by (max error, tolerance): %s' % bad
