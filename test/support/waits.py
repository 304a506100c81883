"""The one way the tests wait for a condition: poll it with a deadline; and a timer's own lateness here."""
import threading
import time


def poll(predicate, timeout, interval=0.05):
    """Calls ``predicate()`` every ``interval`` s until it returns a true value or ``timeout`` s
    have passed; returns its last value (false when the time ran out)."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() >= deadline:
            return value
        time.sleep(interval)


def wait_until(predicate, timeout, what, interval=0.05):
    """``poll``, but a condition that does not come true within ``timeout`` s fails the test,
    naming ``what`` and the last value; returns the true value."""
    value = poll(predicate, timeout, interval)
    if not value:
        raise AssertionError('%s: not within %.1f s (last: %r)' % (what, timeout, value))
    return value


def bare_wait(seconds):
    """Seconds a bare threading.Condition wait of ``seconds`` takes here, now: the lateness this
    machine's load adds to any timer, a baseline for the code's own timed waits."""
    condition = threading.Condition()
    started = time.time()
    with condition:
        condition.wait(seconds)
    return time.time() - started
