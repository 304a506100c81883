"""One subscription per topic, one encode per output, the newest frame per client.

The hub owns the topic feeds. A Feed is one subscription (made through the
injected ``subscribe`` callable, so no rospy here); it hands every message to its
Outputs. An Output is one distinct result (topic, mode, size, quality, invert): it
encodes each message once, in its own encoder thread, hands the frame to every
client watching it, then wakes the stream writer that serves all streaming clients
once (a /snapshot waits on its own client). A client holds only the newest frame
not yet taken (a handoff.NewestSlot), so a slow client skips frames and never delays the
others or grows memory. Forwarding the camera's own JPEG needs no encoder thread:
it happens in the subscriber callback.
"""
import itertools
import threading
import time
from collections import deque

import cv2

from camera_server import image_codec
from camera_server.compat import monotonic
from camera_server.framing import encoded_image
from camera_server.geometry import fit_size
from camera_server.handoff import NewestSlot
from camera_server.image_codec import image_content_type
from camera_server.messages import CompressedMessage, message_size

ENCODER_IDLE_WAIT = 0.5  # seconds an encoder thread waits for input before checking it should stop


class RateMeter(object):
    """Events per second over the last ``window`` seconds, plus the running total.

    Each event may carry an amount (bytes of a video frame): amount_rate() is its rate.
    """

    def __init__(self, window=2.0):
        self._window = window
        self._times = deque()  # (time, amount)
        self._lock = threading.Lock()
        self.total = 0

    def tick(self, amount=0):
        now = monotonic()
        with self._lock:
            self.total += 1
            self._times.append((now, amount))
            self._trim(now)

    def _trim(self, now):
        while self._times and self._times[0][0] < now - self._window:
            self._times.popleft()

    def _span(self):
        self._trim(monotonic())
        if len(self._times) < 2:
            return None
        return max(self._times[-1][0] - self._times[0][0], 1e-6)

    def rate(self):
        with self._lock:
            span = self._span()
            return 0.0 if span is None else (len(self._times) - 1) / span

    def amount_rate(self):
        """Amount per second, the first event of the window excluded (it opens the span)."""
        with self._lock:
            span = self._span()
            return 0.0 if span is None else sum(amount for _, amount in list(self._times)[1:]) / span


class RenderError(ValueError):
    """A message that cannot be turned into the requested output; the message says why."""


def source_array(source, at_least=None):
    """A BGR or mono uint8 array of a ImageMessage or CompressedMessage; a JPEG may be decoded
    smaller, down to ``at_least`` = (width, height)."""
    if isinstance(source, CompressedMessage):
        img = image_codec.decode_jpeg(source.data, at_least)  # imdecode reads PNG as well
        if img is None:
            raise RenderError('compressed image (format %r) does not decode' % source.format)
        return img
    try:
        return image_codec.array_from_image_msg(source.encoding, source.height, source.width,
                                                source.step, source.data, source.is_bigendian)
    except (image_codec.UnsupportedEncoding, ValueError) as err:
        raise RenderError(str(err))


def transform(img, spec, size=None):
    """``img`` resized to ``size``, by default the spec's (aspect kept when one side is given), and
    rotated if inverted."""
    height, width = img.shape[:2]
    out_w, out_h = size or fit_size(width, height, spec.width, spec.height)
    if (out_w, out_h) != (width, height):
        shrink = out_w * out_h < width * height
        img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    if spec.invert:
        img = cv2.rotate(img, cv2.ROTATE_180)
    return img


def forwardable(source, spec):
    """True when ``source``'s bytes can go out unchanged for ``spec`` (no decode, no encode)."""
    if not isinstance(source, CompressedMessage):
        return False
    if spec.mode == 'as_is':
        return True
    return (spec.mode == 'jpeg' and spec.width < 0 and spec.height < 0 and spec.quality is None
            and not spec.invert and image_content_type(source.data) == 'image/jpeg')


def output_pixels(source, spec, pixels=source_array):
    """The array of ``source`` at ``spec``'s size and orientation (``pixels`` decodes, see render())."""
    size = message_size(source)
    # From the message's own size: the decode may be smaller (Feed.pixels), the result is not.
    return transform(pixels(source), spec, fit_size(size[0], size[1], spec.width, spec.height)
                     if size else None)


def render(source, spec, pixels=source_array):
    """(content type, payload bytes) of ``source`` for ``spec``; raises RenderError.

    ``pixels(source)`` gives the decoded array (a Feed shares one decode among its outputs).
    """
    if forwardable(source, spec):
        content_type = image_content_type(source.data)
        if content_type is None:
            raise RenderError('compressed image (format %r) is neither JPEG nor PNG' % source.format)
        return content_type, bytes(source.data)
    img = output_pixels(source, spec, pixels)
    if spec.mode == 'png':
        level = 3 if spec.quality is None else spec.quality
        ok, buf = cv2.imencode('.png', img, [int(cv2.IMWRITE_PNG_COMPRESSION), level])
        if not ok:
            raise RenderError('PNG encoding failed for an image of shape %s' % (img.shape,))
        return 'image/png', buf.tobytes()
    return 'image/jpeg', image_codec.encode_jpeg(img, 95 if spec.quality is None else spec.quality)


class Client(object):
    """One HTTP client of one output: the newest frame not yet taken, and its counters.

    ``wake`` is called once per published frame after every client got it (the stream
    writer's); a client without one is waited for by next_frame() (a /snapshot).
    """

    _ids = itertools.count(1)

    def __init__(self, output, description, wake=None):
        self.id = next(self._ids)
        self.output = output
        self.description = description
        self.wake = wake
        self._slot = NewestSlot()
        self.frames_sent = 0
        self.started = monotonic()

    @property
    def closed(self):
        return self._slot.closed

    @property
    def frames_dropped(self):
        """Frames replaced by a newer one before they were taken."""
        return self._slot.dropped

    def deliver(self, frame):
        """Make ``frame`` the one to send next; the unsent one it replaces counts as dropped."""
        self._slot.put(frame)

    def take(self):
        """The newest frame not yet taken, or None (never waits)."""
        return self._slot.get(0)

    def next_frame(self, timeout):
        """The newest frame not yet taken, waiting at most ``timeout`` seconds; None once detached."""
        return self._slot.get(timeout)

    def close(self):
        self._slot.close()
        if self.wake:
            self.wake()

    def stats(self):
        return {'id': self.id, 'request': self.description, 'topic': self.output.feed.topic,
                'frames_sent': self.frames_sent, 'frames_dropped': self.frames_dropped,
                'connected_s': round(monotonic() - self.started, 1)}


class Output(object):
    """One distinct output of a feed, encoded once per message for all its clients."""

    def __init__(self, feed, spec, log):
        self.feed = feed
        self.spec = spec
        self._log = log
        self._clients = frozenset()  # replaced, never mutated: the callback reads it without a lock
        self._wakes = frozenset()  # the distinct wake() of the clients: one call each per frame
        self._input = NewestSlot()
        self._seq = itertools.count(1)
        self._thread = None
        self._thread_lock = threading.Lock()
        self._stopped = False
        self._last_error = None
        self.latest = None
        self.encodes = RateMeter()
        self.frames = RateMeter()

    def new_client(self, description, wake):
        return Client(self, description, wake)

    def add(self, client):
        """Register ``client`` (under the hub lock); it gets the latest frame at once when there is one."""
        if self.latest is not None:
            client.deliver(self.latest)
        self._set_clients(self._clients | frozenset([client]))

    def _set_clients(self, clients):
        self._clients = clients
        self._wakes = frozenset(client.wake for client in clients if client.wake)

    @property
    def client_count(self):
        return len(self._clients)

    def remove(self, client):
        self._set_clients(self._clients - frozenset([client]))
        client.close()
        return len(self._clients)

    def offer(self, source):
        """Called for every message: forward it here, or hand it to the encoder thread (newest wins)."""
        if self._stopped:
            return
        if forwardable(source, self.spec):
            self._publish(source)
            return
        with self._thread_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._encode_loop, name='encoder %s %s'
                                                % (self.feed.topic, describe_spec(self.spec)))
                self._thread.daemon = True
                self._thread.start()
        self._input.put(source)

    def stop(self):
        self._stopped = True
        self._input.close()
        for client in self._clients:
            client.close()

    def _encode_loop(self):
        while not self._stopped:
            source = self._input.get(ENCODER_IDLE_WAIT)
            if source is not None:
                self._publish(source)

    def _publish(self, source):
        try:
            content_type, payload = render(source, self.spec, self.feed.pixels)
        except RenderError as err:
            if str(err) != self._last_error:  # say it once, not at the frame rate
                self._log('topic %s: %s' % (self.feed.topic, err))
                self._last_error = str(err)
            return
        if not forwardable(source, self.spec):
            self.encodes.tick()
        self.publish_frame(content_type, payload, source.stamp)

    def publish_frame(self, content_type, payload, stamp):
        """Give every client an encoded frame: a rendered message, or a placeholder while the topic is silent."""
        frame = encoded_image(next(self._seq), stamp, content_type, payload)
        self.latest = frame
        self.frames.tick()
        for client in self._clients:
            client.deliver(frame)
        for wake in self._wakes:
            wake()

    def stats(self):
        spec = self.spec
        return {'type': describe_spec(spec), 'width': spec.width, 'height': spec.height,
                'quality': spec.quality, 'invert': spec.invert, 'clients': self.client_count,
                'frames_per_s': round(self.frames.rate(), 2),
                'encodes_per_s': round(self.encodes.rate(), 2), 'encodes_total': self.encodes.total}


def describe_spec(spec):
    """The query type an output spec serves: mjpeg, png, ros_compressed, h264, vp8 or vp9."""
    if spec.mode == 'video':
        return spec.video.codec
    return {'jpeg': 'mjpeg', 'png': 'png', 'as_is': 'ros_compressed'}[spec.mode]


class Feed(object):
    """One subscription to one topic and the outputs made from it."""

    def __init__(self, topic, msg_type):
        self.topic = topic
        self.msg_type = msg_type
        self.outputs = {}  # OutputSpec -> Output, changed under the hub lock
        self._output_list = ()  # snapshot the callback iterates without a lock
        self.subscription = None
        self.latest = None
        self.input = RateMeter()
        # When the last message arrived (monotonic, and wall clock for people), or the subscription
        # was made while none has: what tells a silent topic (see liveness.py).
        self.last_message_at = monotonic()
        self.last_message_wall = time.time()
        self.has_messages = False
        self._decoded = (None, None)  # (message, its array): outputs of other sizes decode it once
        self._decode_lock = threading.Lock()

    def pixels(self, source):
        """The decoded array of ``source``, decoded once however many outputs need it, and only as
        large as the largest of them needs (a JPEG for thumbnails only decodes at 1/2 to 1/8)."""
        with self._decode_lock:
            decoded_source, array = self._decoded
            needed = self._decode_size(source)
            # Decoded small before a larger output joined (a new viewer starts from it): again.
            if decoded_source is not source or not covers(array, needed or message_size(source)):
                array = source_array(source, needed)
                self._decoded = (source, array)
            return array

    def _decode_size(self, source):
        """(width, height) every current output fits in, or None when one needs the full size."""
        size = message_size(source)
        if not size:
            return None
        source_w, source_h = size
        sizes = [fit_size(source_w, source_h, o.spec.width, o.spec.height) for o in self._output_list]
        if not sizes or any(w >= source_w or h >= source_h for w, h in sizes):
            return None
        return max(w for w, _ in sizes), max(h for _, h in sizes)

    def refresh(self):
        self._output_list = tuple(self.outputs.values())

    def current_outputs(self):
        """The outputs now (a snapshot: safe to iterate without the hub lock)."""
        return self._output_list

    def on_message(self, source):
        """Subscriber callback: remember the message and offer it to every output."""
        self.latest = source
        self.last_message_at, self.last_message_wall = monotonic(), time.time()
        self.has_messages = True
        self.input.tick()
        for output in self._output_list:
            output.offer(source)

    def stats(self):
        width, height = message_size(self.latest) or (None, None)
        return {'topic': self.topic, 'message_type': self.msg_type, 'width': width, 'height': height,
                'input_fps': round(self.input.rate(), 2), 'messages_total': self.input.total,
                'last_message_age_s': round(monotonic() - self.last_message_at, 2),
                'clients': sum(o.client_count for o in self._output_list),
                'outputs': [o.stats() for o in self._output_list]}


def covers(array, size):
    """True when ``array`` is at least ``size`` = (width, height) large (an unknown size: it is)."""
    return size is None or (array.shape[1] >= size[0] and array.shape[0] >= size[1])


class StreamHub(object):
    """Attaches clients to shared outputs and subscribes/unsubscribes topics as clients come and go.

    ``subscribe(topic, msg_type, callback)`` returns a handle with ``unregister()`` and
    ``get_num_connections()`` (publishers connected, as rospy.Subscriber);
    ``callback`` receives ImageMessage / CompressedMessage values. Thread-safe.
    """

    def __init__(self, subscribe, log=lambda text: None, output_classes=None):
        self._subscribe = subscribe
        self._log = log
        # OutputSpec.mode -> the class (or factory) of its outputs, called (feed, spec, log);
        # Output for the image modes.
        self._output_classes = dict(output_classes or {})
        self._lock = threading.Lock()
        self._feeds = {}  # topic -> Feed
        self._clients = {}  # id -> Client
        self._retired_encodes = 0  # encodes of outputs already stopped, for a total that never goes back

    def attach(self, topic, msg_type, spec, description='', wake=None):
        """A new Client (see Client for ``wake``) of the output ``spec`` of ``topic``; subscribes the topic on first use."""
        with self._lock:
            feed = self._feeds.get(topic)
            if feed is None:
                feed = Feed(topic, msg_type)
                feed.subscription = self._subscribe(topic, msg_type, feed.on_message)
                self._feeds[topic] = feed
                self._log('subscribed %s (%s)' % (topic, msg_type))
            output = feed.outputs.get(spec)
            new_output = output is None
            if new_output:
                output = self._output_classes.get(spec.mode, Output)(feed, spec, self._log)
                feed.outputs[spec] = output
                feed.refresh()
            client = output.new_client(description, wake)
            output.add(client)
            self._clients[client.id] = client
        if new_output and feed.latest is not None:
            output.offer(feed.latest)  # a new output starts from the cached message, not the next one
        return client

    def detach(self, client):
        """Forget ``client``; the last client of an output stops it, of a topic unsubscribes it."""
        with self._lock:
            if self._clients.pop(client.id, None) is None:
                return
            output = client.output
            feed = output.feed
            if output.remove(client) == 0:
                output.stop()
                self._retired_encodes += output.encodes.total
                feed.outputs.pop(output.spec, None)
                feed.refresh()
            if not feed.outputs and self._feeds.get(feed.topic) is feed:
                del self._feeds[feed.topic]
                feed.subscription.unregister()
                self._log('unsubscribed %s: no client left' % feed.topic)

    def client_count(self):
        with self._lock:
            return len(self._clients)

    def feeds(self):
        """The topics subscribed now (Feed objects)."""
        with self._lock:
            return list(self._feeds.values())

    def close(self):
        """Drop every client and subscription (server shutdown)."""
        with self._lock:
            clients = list(self._clients.values())
        for client in clients:
            self.detach(client)

    def stats(self, topic_extra=lambda feed: {}):
        """The /health numbers: per topic (plus ``topic_extra(feed)``), per output, per client, and totals."""
        with self._lock:
            feeds = list(self._feeds.values())
            clients = list(self._clients.values())
            retired = self._retired_encodes
        topics = [dict(feed.stats(), **topic_extra(feed)) for feed in feeds]
        outputs = [out for topic in topics for out in topic['outputs']]
        return {'clients': len(clients), 'subscriptions': len(feeds),
                'encodes_per_s': round(sum(o['encodes_per_s'] for o in outputs), 2),
                'encodes_total': retired + sum(o['encodes_total'] for o in outputs),
                'topics': topics, 'client_list': [c.stats() for c in clients]}

