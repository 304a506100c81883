"""Silent topics: when a subscribed topic counts as stale, why, and what its viewers get meanwhile.

A topic is stale once no message came for ``stale_after`` seconds (camera unplugged, link
down, publisher gone). Then /health says so with the reason, /snapshot refuses to serve an
old frame, and, with placeholders on, every output of the topic gets a placeholder frame
(placeholder.py) about once a second, encoded once for all its viewers (a video output's
encoder gets the picture as one more message), so that streaming viewers stay connected
and see what happened instead of a frozen picture. Live messages replace it by themselves. One thread, 'liveness monitor', does the watching; it logs one
line when a topic goes silent and one when it is back.
"""
import threading
import time
import traceback

import numpy

from camera_server import placeholder
from camera_server.compat import monotonic
from camera_server.geometry import fit_size
from camera_server.messages import ImageMessage

CHECK_PERIOD_S = 0.25  # how often the monitor looks at every topic
PLACEHOLDER_PERIOD_S = 1.0  # a placeholder per output this often while the topic is silent
STILL_MODES = ('jpeg', 'png', 'as_is')  # outputs that get the encoded placeholder as their frame
VIDEO_MODE = 'video'  # outputs whose encoder gets the placeholder picture as a message
MAX_CANVASES = 8  # picture sizes kept for drawing on (one per distinct output size)


def silence_reason(feed, now, stale_after):
    """None while ``feed`` is live, else one line saying why it is stale."""
    age = now - feed.last_message_at
    if age <= stale_after:
        return None
    if feed.publishers() == 0:
        return 'publisher gone' if feed.has_messages else 'no publisher connected'
    if feed.has_messages:
        return 'no message for %.1f s' % age
    return 'no message in the %.1f s since subscribing' % age


class LivenessMonitor(object):
    """Watches the hub's topics from the thread 'liveness monitor' until close().

    ``log`` has warning() and info(); ``placeholders`` False keeps the viewers' last frame
    (web_video_server's frozen picture) while /health and /snapshot still tell.
    """

    def __init__(self, hub, stale_after, placeholders, log):
        self._hub = hub
        self.stale_after = stale_after
        self._placeholders = placeholders
        self._log = log
        self._silent = {}  # Feed -> _Episode, monitor thread only
        self._canvases = {}  # (width, height) -> the array placeholders of that size are drawn on
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='liveness monitor')
        self._thread.daemon = True
        self._thread.start()

    def reason(self, feed):
        """Why ``feed`` is stale now, or None while it is live."""
        return silence_reason(feed, monotonic(), self.stale_after)

    def topic_state(self, feed):
        """The /health fields of ``feed``'s liveness."""
        reason = self.reason(feed)
        return {'stale': reason is not None, 'stale_reason': reason}

    def close(self):
        self._stop.set()
        self._thread.join(2 * CHECK_PERIOD_S + 1)

    def _run(self):
        last_error = None
        while not self._stop.wait(CHECK_PERIOD_S):
            try:
                self.check(monotonic())
            except Exception:  # a defect must not end the watching; said once, not four times a second
                error = traceback.format_exc()
                if error != last_error:
                    self._log.error('liveness check failed: %s' % error)
                last_error = error

    def check(self, now):
        """One look at every topic: log changes, send due placeholders."""
        feeds = self._hub.feeds()
        for feed in list(self._silent):
            if feed not in feeds:  # unsubscribed: its episode ends without a recovery line
                del self._silent[feed]
        for feed in feeds:
            reason = silence_reason(feed, now, self.stale_after)
            episode = self._silent.get(feed)
            if reason is None:
                if episode is not None:
                    del self._silent[feed]
                    self._log.info('topic %s: messages again after %.1f s of silence'
                                   % (feed.topic, feed.last_message_wall - episode.since_wall))
                continue
            if episode is None:
                episode = self._silent[feed] = _Episode(feed.last_message_wall)
                self._log.warning('topic %s: stale, %s; %s' % (
                    feed.topic, reason, 'viewers get a placeholder once a second until it is back'
                    if self._placeholders else 'viewers keep the last frame (~placeholders off)'))
            if self._placeholders:
                self._send_placeholders(feed, reason, episode.sent, now)

    def _canvas(self, width, height):
        canvas = self._canvases.get((width, height))
        if canvas is None:
            if len(self._canvases) >= MAX_CANVASES:
                self._canvases.clear()
            canvas = self._canvases[width, height] = numpy.empty((height, width, 3), numpy.uint8)
        return canvas

    def _send_placeholders(self, feed, reason, sent, now):
        lines = placeholder.message_lines(feed.topic, feed.last_message_wall, reason)
        size = feed.picture_size() or placeholder.DEFAULT_SIZE
        for output in feed.current_outputs():
            mode = output.spec.mode
            if mode not in STILL_MODES + (VIDEO_MODE,) or now - sent.get(output, -1e9) < PLACEHOLDER_PERIOD_S:
                continue
            if mode == VIDEO_MODE:  # at the topic's picture size: the output scales it like a message
                picture = placeholder.draw(size[0], size[1], lines, self._canvas(size[0], size[1]))
                output.offer(ImageMessage(time.time(), 'bgr8', size[1], size[0], size[0] * 3, picture.tobytes(), 0))
            else:
                width, height = fit_size(size[0], size[1], output.spec.width, output.spec.height)
                picture = placeholder.draw(width, height, lines, self._canvas(width, height))
                content_type, payload = placeholder.encode(picture, mode == 'png')
                output.publish_frame(content_type, payload, time.time())  # X-Timestamp: when it was made
            sent[output] = now


class _Episode(object):
    """One silence of one topic: since when, and when each output last got a placeholder."""

    def __init__(self, since_wall):
        self.since_wall = since_wall
        self.sent = {}  # Output -> monotonic time
