"""A video output's clients, and the group of pictures a new one starts with.

Video frames depend on the ones before, so a client keeps the frames not yet sent in order
(not only the newest, as an image client does), from a keyframe on. One that falls more than
``BACKLOG_S`` behind loses its backlog (counted in ``frames_dropped``) and resumes at the next
keyframe.

A new client does not wait for the next keyframe: it starts with the current group of pictures
(GroupOfPictures: the last keyframe and every frame since), queued at once, so its first
decodable frame leaves with the reply's first bytes and the frames after it bring it to the
newest one; the viewer page then shows the newest frame (www/mse_player.js). The encoder makes
no extra keyframe for it, so the viewers already watching get exactly the bytes they got before.
"""
import threading
from collections import deque

from camera_server.compat import monotonic
from camera_server.fanout import Client

BACKLOG_S = 0.5  # a client with older unsent frames skips to the next keyframe
# The most a group of pictures may hold for joiners (a long gop at a high bitrate): past it a
# joiner waits for the next keyframe instead. 4 MB is 0.3 s of a 100 Mbit/s link, and 16 s of
# the default 1280x720 bitrate.
MAX_GOP_BYTES = 4 * 1024 * 1024


class GroupOfPictures(object):
    """The frames from the last keyframe on (VideoFragments), for clients that join."""

    def __init__(self):
        self._frames = []
        self._bytes = 0

    @property
    def frames(self):
        """The frames a joiner starts with (a list that is replaced, never changed)."""
        return self._frames

    def add(self, frame):
        if frame.keyframe:
            self._frames, self._bytes = [frame], len(frame.part)
        elif self._frames:
            self._bytes += len(frame.part)
            # a new list: the one a joiner was given stays as it was
            self._frames = self._frames + [frame] if self._bytes <= MAX_GOP_BYTES else []

    def clear(self):
        self._frames, self._bytes = [], 0


class VideoClient(Client):
    """A client of a video output: the frames not yet sent, in order, from a keyframe on."""

    def __init__(self, output, description, wake=None):
        Client.__init__(self, output, description, wake)
        self._lock = threading.Lock()
        self._queue = deque()  # (arrival time, VideoFragment)
        self._synced = False  # False until a keyframe starts (or restarts) this client's stream
        self._started = False  # a first keyframe was queued
        self._dropped = 0

    @property
    def frames_dropped(self):
        """Frames this client was not sent because it fell behind."""
        return self._dropped

    def join(self, frames):
        """Start with ``frames``: a group of pictures (a keyframe first), or none."""
        now = monotonic()
        with self._lock:
            self._queue.extend((now, frame) for frame in frames)
            self._synced = self._started = bool(frames)

    def deliver(self, frame):
        now = monotonic()
        with self._lock:
            if self._queue and now - self._queue[0][0] > BACKLOG_S:
                self._dropped += len(self._queue)
                self._queue.clear()
                self._synced = False
            if not self._synced:
                if not frame.keyframe:
                    if self._started:  # waiting after a skip, not for its first keyframe
                        self._dropped += 1
                    return
                self._synced = self._started = True
            self._queue.append((now, frame))

    def take(self):
        with self._lock:
            return self._queue.popleft()[1] if self._queue else None

    def next_frame(self, timeout):
        raise NotImplementedError('a video client is served by the stream writer only')
