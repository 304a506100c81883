"""The newest-wins hand-off of size one between two threads, with deadlines.

Used between a topic's subscriber callback and an output's encoder thread, and between an
output and each of its clients: the producer never waits, a slow consumer skips to the
newest item, and nothing is ever handed out twice.
"""
import threading

from camera_server.compat import monotonic


class NewestSlot(object):
    """Holds at most one item: put() replaces the unread one (counted in ``dropped``).

    get() waits at most ``timeout`` seconds; close() wakes every waiter for good.
    """

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._item = None
        self.closed = False
        self.dropped = 0

    def put(self, item):
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify()

    def get(self, timeout):
        """The newest item not taken yet, or None after ``timeout`` seconds or once closed.

        ``timeout`` None waits until an item comes or close(): on Python 2.7 a wait with a
        timeout polls in sleeps of up to 50 ms (a hand-off 14 ms late at the median), one
        without wakes at once.
        """
        deadline = None if timeout is None else monotonic() + timeout
        with self._cond:
            while self._item is None and not self.closed:
                if deadline is None:
                    self._cond.wait()
                    continue
                remaining = deadline - monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            item, self._item = self._item, None
            return item

    def close(self):
        with self._cond:
            self.closed = True
            self._cond.notify_all()
