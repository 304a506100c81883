"""rates: the rate meter measures ticks over its window and decays when they stop."""
import time

from camera_server.compat import monotonic
from camera_server.rates import RateMeter


def test_rate_meter_measures_and_decays():
    meter = RateMeter(window=30.0)  # nothing leaves the window while ticking, however slow this machine
    before, after = [], []
    for _ in range(11):
        before.append(monotonic())
        meter.tick()
        after.append(monotonic())
        time.sleep(0.02)
    rate = meter.rate()
    # The meter's clock (the same monotonic one) read each tick between before and after: its rate lies between
    # 10 intervals over the longest and over the shortest span those allow.
    low, high = 10 / (after[-1] - before[0]), 10 / (before[-1] - after[0])
    assert low * 0.99 <= rate <= high * 1.01 and meter.total == 11, \
        'rate %.2f/s for 11 ticks whose times allow %.2f-%.2f/s' % (rate, low, high)
    short = RateMeter(window=0.2)
    short.tick()
    short.tick()
    time.sleep(0.3)  # sleep never returns early: both ticks are out of the window
    assert short.rate() == 0.0, short.rate()
