"""Registering again with a ROS master that restarted: rospy does not.

A ROS 1 node registers its publications, subscriptions and services once, at start. A
master that restarts (or is replaced on the same port) knows nothing of them: the
connections that already exist go on, but nobody new can find the node, and the node
learns of no new publisher. The MasterWatch thread asks the master every ``interval``
seconds for its pid and whether it knows this node (``getPid``, ``lookupNode``; a short
timeout, its own connection: never rospy's master proxy, whose lock a hung call would
hold). Both are needed: rospy's parameter cache subscribes to a parameter on the next log
line, which makes a new master know the node without any of its topics. When the master
has another pid, or does not know the node, the watch registers everything again, reading the node's
publications and subscriptions from the node's own slave API, and hands the publishers
the master returns for each subscription to the node (``publisherUpdate``), as the master
itself would have. Each change (master gone, master back) is logged once. XML-RPC only:
no rospy here.
"""
import threading

from camera_server.compat import ServerProxy, Transport

INTERVAL_S = 1.0
TIMEOUT_S = 1.0


class TimeoutTransport(Transport):
    """An XML-RPC transport whose connections give up after ``timeout`` seconds."""

    def __init__(self, timeout):
        Transport.__init__(self)
        self.timeout = timeout

    def make_connection(self, host):
        connection = Transport.make_connection(self, host)
        connection.timeout = self.timeout
        return connection


def timeout_proxy(uri, timeout):
    return ServerProxy(uri, transport=TimeoutTransport(timeout))


class MasterWatch(threading.Thread):
    """Watches the master at ``master_uri`` for the node ``caller_id`` whose slave API is at
    ``caller_api``; ``services()`` lists the node's (name, rosrpc URI) services; ``log`` has
    ``info`` and ``warning``."""

    def __init__(self, master_uri, caller_id, caller_api, services, log, interval=INTERVAL_S,
                 timeout=TIMEOUT_S):
        threading.Thread.__init__(self, name='master watch')
        self.daemon = True
        self.master_uri = master_uri
        self.caller_id = caller_id
        self.caller_api = caller_api
        self.services = services
        self.log = log
        self.interval = interval
        self.timeout = timeout
        self.stopping = threading.Event()
        self.master_gone = None  # the reason while the master does not answer
        self.master_pid = None  # of the master the node is registered with
        # One connection kept open between checks (rosmaster speaks HTTP/1.1): a new one every
        # second cost the master a thread and both sides a TCP handshake, for each node.
        self._master = None
        self.registrations = 0  # times the node registered again

    def stop(self):
        self.stopping.set()

    def run(self):
        while not self.stopping.wait(self.interval):
            self.check()

    def check(self):
        """One look at the master; registers again when it does not know the node."""
        if self._master is None:  # never `or`: on Python 2.7 a proxy's truth value is a remote call
            self._master = timeout_proxy(self.master_uri, self.timeout)
        master = self._master
        try:
            pid = master.getPid(self.caller_id)[2]
            code, _, uri = master.lookupNode(self.caller_id, self.caller_id)
            if self.master_pid is None:
                self.master_pid = pid  # the master the node registered with at start
            if pid == self.master_pid and code == 1 and uri == self.caller_api:
                if self.master_gone is not None:
                    self.log.info('ROS master %s answers again and still knows %s'
                                  % (self.master_uri, self.caller_id))
                    self.master_gone = None
                return
            counts = self.register_again(master)
            self.master_pid = pid
        except Exception as error:  # noqa: B902 whatever the network or the master does, the watch goes on
            self._master = None  # a master that hung or went: a new connection next time
            reason = str(error) or type(error).__name__
            if self.master_gone is None:
                self.log.warning('ROS master %s does not answer (%s); %s keeps running and registers '
                                 'again when a master is back' % (self.master_uri, reason, self.caller_id))
            self.master_gone = reason
            return
        self.registrations += 1
        self.master_gone = None
        self.log.info('ROS master %s is new (restarted): %s registered again its %d publication(s), '
                      '%d subscription(s) and %d service(s)' % ((self.master_uri, self.caller_id) + counts))

    def register_again(self, master):
        node = timeout_proxy(self.caller_api, self.timeout)
        publications = node.getPublications(self.caller_id)[2]
        subscriptions = node.getSubscriptions(self.caller_id)[2]
        for topic, topic_type in publications:
            master.registerPublisher(self.caller_id, topic, topic_type, self.caller_api)
        for topic, topic_type in subscriptions:
            code, _, publishers = master.registerSubscriber(self.caller_id, topic, topic_type,
                                                            self.caller_api)
            if code == 1:
                node.publisherUpdate('/master', topic, publishers)
        services = list(self.services())
        for name, service_api in services:
            master.registerService(self.caller_id, name, service_api, self.caller_api)
        return len(publications), len(subscriptions), len(services)
