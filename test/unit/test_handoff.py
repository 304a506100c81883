"""handoff: the newest-frame slot keeps only the newest, counts drops, and wakes its waiter at once."""
import threading
import time

import pytest

from camera_server.handoff import NewestSlot
from support.waits import bare_wait


def test_slot_keeps_only_the_newest_and_counts_drops():
    slot = NewestSlot()
    for item in range(5):
        slot.put(item)
    assert slot.get(0.1) == 4 and slot.dropped == 4, slot.dropped
    started = time.time()
    assert slot.get(0.2) is None
    waited = time.time() - started
    bare = bare_wait(0.2)
    # Never before the deadline (less clock granularity); after it, no later than a bare wait
    # of the same deadline measured here, plus one more deadline (a second wait would show).
    assert 0.19 < waited < bare + 0.2, 'empty get waited %.3f s for a 0.2 s deadline (a bare wait: %.3f s)' % (
        waited, bare)


@pytest.mark.parametrize('deadline', [5.0, None])  # None: the encoder threads' wait, without one
def test_slot_wakes_waiter_on_put_and_close(deadline):
    slot = NewestSlot()
    got = []
    for wake, what in ((lambda: slot.put('frame'), 'put'), (slot.close, 'close')):
        waiter = threading.Thread(target=lambda: got.append((slot.get(deadline), time.time())))
        waiter.start()
        time.sleep(0.1)
        woken_at = time.time()
        wake()
        waiter.join(10)
        # Not woken by the put or close, the get would return at its 5 s deadline, or never: a
        # second is far from both, on any machine.
        late = got[-1][1] - woken_at
        assert late < 1.0, 'get woke %.3f s after %s; its deadline %s' % (late, what, deadline)
    assert got[0][0] == 'frame' and got[1][0] is None and slot.closed, got
