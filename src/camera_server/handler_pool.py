"""Complete requests handled in short daemon threads, a bounded number at once.

A request whose head has arrived gets a thread of its own, up to ``max_threads``; beyond that
it waits its turn (a finishing thread takes the next one), up to ``max_waiting`` requests;
beyond that it is refused at once. A thread ends when no request waits.
"""
import itertools
import threading
from collections import deque


class HandlerPool(object):
    """``handle(sock, address, head)`` serves one request (and must not raise);
    ``refuse(sock, waiting)`` answers one that found no place."""

    def __init__(self, handle, refuse, max_threads, max_waiting):
        self._handle = handle
        self._refuse = refuse
        self._max_threads = max_threads
        self._max_waiting = max(1, max_waiting)
        self._lock = threading.Lock()
        self._running = 0  # handler threads running
        self._waiting = deque()  # complete requests waiting for a handler thread
        self._ids = itertools.count(1)

    def submit(self, sock, address, head):
        """A complete request (from the accept thread, never blocks): a thread, a place in the queue, or a refusal."""
        with self._lock:
            start = self._running < self._max_threads
            if start:
                self._running += 1
            elif len(self._waiting) < self._max_waiting:
                self._waiting.append((sock, address, head))
                return
            else:
                waiting = len(self._waiting)
        if not start:
            self._refuse(sock, waiting)
            return
        thread = threading.Thread(target=self._work, args=(sock, address, head),
                                  name='http client %d' % next(self._ids))
        thread.daemon = True
        thread.start()

    def _work(self, sock, address, head):
        while True:
            self._handle(sock, address, head)
            with self._lock:
                if not self._waiting:
                    self._running -= 1
                    return
                sock, address, head = self._waiting.popleft()

    def close(self):
        """Closes the connections still waiting (server stop)."""
        with self._lock:
            waiting, self._waiting = list(self._waiting), deque()
        for sock, _, _ in waiting:
            sock.close()
