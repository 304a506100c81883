"""fanout: the hub shares one subscription and one encode per frame and output among its clients."""
import threading

import cv2

from camera_server import render
from camera_server.fanout import StreamHub
from camera_server.health import hub_stats
from camera_server.messages import COMPRESSED_TYPE, IMAGE_TYPE
from camera_server.url_api import OutputSpec
from support.fake_topics import FakeTopics, compressed_source, image_source
from support.frames import make_frame
from support.waits import wait_until
from support.web_checks import decode, mean_diff

JPEG = OutputSpec('jpeg', -1, -1, None, False)


def hub_with_topics():
    topics = FakeTopics({'/cam/image_raw': IMAGE_TYPE, '/cam/image_raw/compressed': COMPRESSED_TYPE})
    return topics, StreamHub(topics.subscribe)


def test_one_subscription_and_one_encode_per_frame_for_many_clients():
    topics, hub = hub_with_topics()
    spec = JPEG._replace(quality=80)
    clients = [hub.attach('/cam/image_raw', IMAGE_TYPE, spec) for _ in range(8)]
    small = hub.attach('/cam/image_raw', IMAGE_TYPE, spec._replace(width=80))
    assert topics.subscribe_calls == 1 and len(topics.subscriptions()) == 1
    for index in range(1, 11):
        topics.publish('/cam/image_raw', image_source(index))
        frames = [client.next_frame(2.0) for client in clients]
        assert all(f is not None and f is frames[0] for f in frames), 'clients got different frame objects'
        assert small.next_frame(2.0).payload != frames[0].payload
    outputs = hub_stats(hub)['topics'][0]['outputs']
    assert sorted(o['encodes_total'] for o in outputs) == [10, 10], outputs
    for client in clients + [small]:
        hub.detach(client)
    stats = hub_stats(hub)
    assert topics.subscriptions() == [] and stats['subscriptions'] == 0 and stats['encodes_total'] == 20, stats


def test_outputs_of_other_sizes_share_one_decode_per_message(monkeypatch):
    decoded = []
    real_decode = render.image_codec.decode_jpeg
    monkeypatch.setattr(render.image_codec, 'decode_jpeg', lambda data, *size: decoded.append(1) or real_decode(data, *size))
    topics, hub = hub_with_topics()
    specs = [JPEG._replace(quality=50), JPEG._replace(width=80), JPEG._replace(width=160, quality=70)]
    clients = [hub.attach('/cam/image_raw/compressed', COMPRESSED_TYPE, spec) for spec in specs]
    for index in range(1, 6):
        topics.publish('/cam/image_raw/compressed', compressed_source(index))
        frames = [client.next_frame(2.0) for client in clients]
        assert [decode(f.payload).shape[1] for f in frames] == [make_frame(index).shape[1], 80, 160]
        assert len(decoded) == index, 'message %d decoded %d times in all' % (index, len(decoded))
    for client in clients:
        hub.detach(client)


def encoder_threads():
    return [t for t in threading.enumerate() if t.name.startswith('encoder /cam')]


def test_forwarded_jpeg_needs_no_encoder():
    wait_until(lambda: not encoder_threads(), 2.0, "earlier tests' encoder threads ended")
    topics, hub = hub_with_topics()
    client = hub.attach('/cam/image_raw/compressed', COMPRESSED_TYPE, JPEG)
    source = compressed_source(1)
    topics.publish('/cam/image_raw/compressed', source)
    frame = client.next_frame(0.1)  # forwarded inside the callback: already there
    assert frame.payload == source.data and b'X-Timestamp: 1001.000000' in frame.part
    assert hub_stats(hub)['encodes_per_s'] == 0 and not encoder_threads(), encoder_threads()
    hub.detach(client)


def test_new_client_gets_latest_frame_at_once_and_new_output_starts_from_cached_message():
    topics, hub = hub_with_topics()
    first = hub.attach('/cam/image_raw', IMAGE_TYPE, JPEG)
    topics.publish('/cam/image_raw', image_source(4))
    assert first.next_frame(2.0).stamp == 1004.0
    second = hub.attach('/cam/image_raw', IMAGE_TYPE, JPEG)
    assert second.next_frame(0.01).stamp == 1004.0  # the cached encoded frame
    other = hub.attach('/cam/image_raw', IMAGE_TYPE, JPEG._replace(invert=True))
    assert other.next_frame(2.0).stamp == 1004.0  # encoded from the cached message, no wait for the next
    for client in (first, second, other):
        hub.detach(client)


def test_slow_client_skips_frames_without_delaying_others():
    topics, hub = hub_with_topics()
    fast = hub.attach('/cam/image_raw', IMAGE_TYPE, JPEG)
    slow = hub.attach('/cam/image_raw', IMAGE_TYPE, JPEG)
    received = []
    for index in range(1, 21):
        topics.publish('/cam/image_raw', image_source(index))
        received.append(fast.next_frame(2.0).stamp)
    assert received == [1000.0 + i for i in range(1, 21)], received
    assert slow.next_frame(0.1).stamp == 1020.0 and slow.frames_dropped == 19, slow.frames_dropped
    hub.detach(fast)
    hub.detach(slow)


def test_last_client_leaving_stops_encoder_thread():
    topics, hub = hub_with_topics()
    client = hub.attach('/cam/image_raw', IMAGE_TYPE, JPEG)
    topics.publish('/cam/image_raw', image_source(1))
    client.next_frame(2.0)
    assert [t for t in threading.enumerate() if t.name == 'encoder /cam/image_raw mjpeg']
    hub.detach(client)
    wait_until(lambda: not encoder_threads(), 2.0, 'encoder thread ended')


def test_thumbnails_alone_decode_the_jpeg_small():
    """Outputs all smaller than the source: one decode at 1/2 (not full size); a full-size output
    then makes it one full decode. Each message is decoded once either way."""
    topics, hub = hub_with_topics()
    topic = '/cam/image_raw/compressed'
    thumbnail = hub.attach(topic, COMPRESSED_TYPE, OutputSpec('jpeg', 240, -1, 75, False))
    small = hub.attach(topic, COMPRESSED_TYPE, OutputSpec('jpeg', 100, -1, 75, False))
    feed = thumbnail.output.feed
    topics.publish(topic, compressed_source(3, 640, 480, quality=90))
    frame = thumbnail.next_frame(2.0)
    assert small.next_frame(2.0) is not None and feed.decode._decoded[1].shape == (240, 320, 3), feed.decode._decoded[1].shape
    expected = cv2.resize(make_frame(3, 640, 480), (240, 180), interpolation=cv2.INTER_AREA)
    assert mean_diff(decode(frame.payload), expected) < 4.0, mean_diff(decode(frame.payload), expected)
    full = hub.attach(topic, COMPRESSED_TYPE, OutputSpec('jpeg', -1, -1, 90, False))
    first = decode(full.next_frame(2.0).payload)  # from the message decoded small: decoded again
    assert first.shape == (480, 640, 3) and mean_diff(first, make_frame(3, 640, 480)) < 4.0
    topics.publish(topic, compressed_source(4, 640, 480, quality=90))
    assert decode(full.next_frame(2.0).payload).shape == (480, 640, 3)
    assert decode(thumbnail.next_frame(2.0).payload).shape == (180, 240, 3)
    assert feed.decode._decoded[1].shape == (480, 640, 3), feed.decode._decoded[1].shape
    for client in (thumbnail, small, full):
        hub.detach(client)
