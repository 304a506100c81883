"""A subprocess's output, read line by line by a thread of its own, so that a wait for a line
meets its deadline even while the process says nothing (a loop over ``proc.stdout`` checks its
deadline only when a line arrives, and a silent process would hold it forever)."""
import queue
import threading
import time


class OutputLines(object):
    """Every line read so far is in ``lines``; ``ended`` once the output is closed."""

    def __init__(self, stream, name='output reader'):
        self.lines = []
        self.ended = False
        self._arrived = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), name=name, daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self._arrived.put(line)
        self._arrived.put(None)

    def read_until(self, matches, timeout):
        """Reads on until a line ``matches``, the output ends or ``timeout`` s have passed;
        returns the matching line, or None."""
        deadline = time.time() + timeout
        while not self.ended:
            try:
                line = self._arrived.get(timeout=max(0.0, deadline - time.time()))
            except queue.Empty:
                return None
            if line is None:
                self.ended = True
            else:
                self.lines.append(line)
                if matches(line):
                    return line
        return None

    def read_to_end(self, timeout):
        """Reads on until the output ends or ``timeout`` s have passed; returns ``ended``."""
        self.read_until(lambda line: False, timeout)
        return self.ended

    def text(self):
        return ''.join(self.lines)
