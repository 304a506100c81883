"""One subscription per topic, one encode per output, the newest frame per client.

The hub owns the topic feeds. A Feed is one subscription (made through the
injected ``subscribe`` callable, so no rospy here); it hands every message to its
Outputs. An Output is one distinct result (topic, mode, size, quality, invert): it
encodes each message once, in its own encoder thread, hands the frame to every
client watching it, then calls each distinct wake-up of its clients once (the stream
writer's send_now, which serves all streaming clients; a /snapshot waits on its own
client). A client holds only the newest frame not yet taken (a handoff.NewestSlot), so
a slow client skips frames and never delays the others or grows memory. Forwarding the camera's own JPEG needs no encoder thread:
it happens in the subscriber callback.
"""
import itertools
import threading
import time

from camera_server.compat import monotonic
from camera_server.framing import encoded_image
from camera_server.handoff import NewestSlot
from camera_server.messages import message_size
from camera_server.rates import RateMeter
from camera_server.render import RenderError, SharedDecode, forwardable, render
from camera_server.url_api import spec_type


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

    def offer(self, message):
        """Called for every message: forward it here, or hand it to the encoder thread (newest wins)."""
        if self._stopped:
            return
        if forwardable(message, self.spec):
            self._publish(message, forwarded=True)
            return
        with self._thread_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._encode_loop, name='encoder %s %s'
                                                % (self.feed.topic, spec_type(self.spec)))
                self._thread.daemon = True
                self._thread.start()
        self._input.put(message)

    def stop(self):
        self._stopped = True
        self._input.close()
        for client in self._clients:
            client.close()

    def _encode_loop(self):
        while not self._stopped:
            message = self._input.get(None)  # stop() closes the slot, which ends the wait
            if message is not None:
                self._publish(message)

    def _publish(self, message, forwarded=False):
        try:
            content_type, payload = render(message, self.spec, self.feed.decode.pixels, forwarded)
        except RenderError as err:
            if str(err) != self._last_error:  # say it once, not at the frame rate
                self._log('topic %s: %s' % (self.feed.topic, err))
                self._last_error = str(err)
            return
        if not forwarded:
            self.encodes.tick()
        self.publish_frame(content_type, payload, message.stamp)

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
        return {'type': spec_type(spec), 'width': spec.width, 'height': spec.height,
                'quality': spec.quality, 'invert': spec.invert, 'clients': self.client_count,
                'frames_per_s': round(self.frames.rate(), 2),
                'encodes_per_s': round(self.encodes.rate(), 2), 'encodes_total': self.encodes.total}


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
        self.decode = SharedDecode(lambda: [output.spec for output in self._output_list])

    def refresh(self):
        self._output_list = tuple(self.outputs.values())

    def current_outputs(self):
        """The outputs now (a snapshot: safe to iterate without the hub lock)."""
        return self._output_list

    def publishers(self):
        """How many publishers the subscription is connected to (None before it is made)."""
        return None if self.subscription is None else self.subscription.get_num_connections()

    def picture_size(self):
        """(width, height) of the latest message, None when unknown (none yet, PNG)."""
        return message_size(self.latest)

    def on_message(self, message):
        """Subscriber callback: remember the message and offer it to every output."""
        self.latest = message
        self.last_message_at, self.last_message_wall = monotonic(), time.time()
        self.has_messages = True
        self.input.tick()
        for output in self._output_list:
            output.offer(message)


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

    def snapshot(self):
        """(feeds, clients, encodes of outputs already stopped), taken together."""
        with self._lock:
            return list(self._feeds.values()), list(self._clients.values()), self._retired_encodes
