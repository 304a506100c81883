"""How often something happens: events per second over a sliding window, and a running total."""
import threading
from collections import deque

from camera_server.compat import monotonic


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
