"""The hard deadline of camera_server.shutdown in this process: a stuck shutdown is cut short,
a second signal exits at once."""
import signal
import threading
import time

from camera_server.shutdown import DEADLINE_S, SignalShutdown


class Recorder(object):
    def __init__(self):
        self.lines = []
        self.exits = []
        self.exited = threading.Event()

    def write_line(self, text):
        self.lines.append(text)

    def exit(self, code):
        self.exits.append(code)
        self.exited.set()


def test_stuck_shutdown_is_cut_short_at_the_deadline_with_one_line():
    release = threading.Event()
    recorder = Recorder()
    handler = SignalShutdown(lambda reason: release.wait(30), 'node', deadline_s=0.3,
                             exit=recorder.exit, write_line=recorder.write_line)
    started = time.time()
    handler.handle(signal.SIGTERM)
    assert recorder.exited.wait(5), 'no forced exit'
    elapsed = time.time() - started
    release.set()
    # The deadline is the handler's own timer: never before it, and before the default one
    # (a deadline_s that was not honoured would show as DEADLINE_S).
    assert 0.3 <= elapsed < DEADLINE_S, 'forced exit after %.2f s for a 0.3 s deadline (default %.1f s)' % (
        elapsed, DEADLINE_S)
    assert recorder.exits == [1] and len(recorder.lines) == 1, (recorder.exits, recorder.lines)
    assert 'signal 15' in recorder.lines[0] and 'stuck' in recorder.lines[0], recorder.lines


def test_shutdown_runs_in_a_thread_and_a_second_signal_exits_at_once():
    calls = []
    recorder = Recorder()
    handler = SignalShutdown(lambda reason: calls.append((reason, threading.current_thread().name)),
                             'node', deadline_s=30, exit=recorder.exit, write_line=recorder.write_line)
    handler.handle(signal.SIGINT)
    assert handler.finished.wait(5)
    assert calls == [('signal 2', 'signal shutdown')], calls
    handler.done()  # returns at once: the shutdown has finished
    handler.handle(signal.SIGINT)
    assert recorder.exits == [1] and 'second signal' in recorder.lines[0], (recorder.exits, recorder.lines)
