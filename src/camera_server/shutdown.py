"""SIGINT and SIGTERM that stop a node at once, even when rospy cannot.

rospy's own handler runs rospy.signal_shutdown inside the signal handler, in the main
thread. When the signal lands while that thread is in a call through rospy's master proxy
(every rospy.loginfo may ask the master for a cached parameter), the shutdown's own
unregister calls wait for the proxy lock that the interrupted call holds: the node hangs
for good. With a master that is gone or unreachable, the unregister calls can also wait
for TCP timeouts. So the nodes call rospy.init_node(..., disable_signals=True) and
install these handlers instead: the handler only starts the shutdown in a thread of its
own, and a timer ends the process ``deadline_s`` later if the shutdown has not finished,
with one line saying so. A second signal ends the process at once. No rospy here.
"""
import os
import signal
import sys
import threading
import time

DEADLINE_S = 2.0  # under the 3 s a supervisor (roslaunch, docker stop, systemd) should wait


def _write_line(text):
    """Straight to stderr: rospy's logging may be the very thing that is stuck."""
    try:
        os.write(sys.stderr.fileno(), (text + '\n').encode('utf-8'))
    except (OSError, ValueError):
        pass


class SignalShutdown(object):
    """Turns SIGINT/SIGTERM into ``request_shutdown(reason)`` in a thread, with a hard deadline.

    ``exit`` ends the process (os._exit: no cleanup that could hang again); ``write_line``
    reports a forced exit. Both are parameters so that the logic is testable in-process.
    """

    def __init__(self, request_shutdown, name, deadline_s=DEADLINE_S, exit=os._exit,
                 write_line=_write_line):
        self.request_shutdown = request_shutdown
        self.name = name
        self.deadline_s = deadline_s
        self.exit = exit
        self.write_line = write_line
        self.requested = threading.Event()
        self.finished = threading.Event()

    def install(self, signals=(signal.SIGINT, signal.SIGTERM)):
        for signum in signals:
            signal.signal(signum, self.handle)
        return self

    def handle(self, signum, frame=None):
        """The signal handler: never blocks, never takes a lock rospy may hold."""
        if self.requested.is_set():
            self.write_line('%s: second signal %d during shutdown; exiting now' % (self.name, signum))
            self.exit(1)
            return
        self.requested.set()
        reason = 'signal %d' % signum
        worker = threading.Thread(target=self._shut_down, args=(reason,), name='signal shutdown')
        worker.daemon = True
        worker.start()
        timer = threading.Thread(target=self._enforce_deadline, args=(reason, time.time()),
                                 name='shutdown deadline')
        timer.daemon = True
        timer.start()

    def _shut_down(self, reason):
        try:
            self.request_shutdown(reason)
        finally:
            self.finished.set()

    def _enforce_deadline(self, reason, started):
        # Runs until the process is gone, whatever still runs by then: a daemon thread lives
        # until the interpreter finalizes, so after a clean exit it never gets this far.
        finished = self.finished.wait(self.deadline_s)
        remaining = started + self.deadline_s - time.time()
        if remaining > 0:
            time.sleep(remaining)
        self.write_line('%s: still running %.1f s after %s (%s); exiting now' % (
            self.name, self.deadline_s, reason, 'after rospy\'s shutdown' if finished
            else 'rospy\'s shutdown is stuck, most likely waiting for the ROS master'))
        self.exit(1)

    def done(self):
        """Called by the node's main thread when it is about to return; after a signal, it
        waits (within the deadline) for the shutdown thread, so that rospy's unregistration
        is not cut short when it can finish."""
        if self.requested.is_set():
            self.finished.wait(self.deadline_s)
