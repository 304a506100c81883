"""What every node of the package does around its own work, in rospy.

Start without rospy's signal handler (see camera_server.shutdown), read private parameters,
end with one fatal line and exit code 2 on a bad configuration, log the parameters with a
warning for unknown ones, and watch the master so that the node registers again with a
master that restarted (camera_server.master_watch).
"""
import sys

import rosgraph
import rospy
from rospy.impl.registration import get_service_manager

from camera_server.camera_info import CalibrationError
from camera_server.compat import line_buffered_stdout
from camera_server.master_watch import MasterWatch
from camera_server.params import ConfigError, unknown_warning
from camera_server.shutdown import SignalShutdown


class RosLog(object):
    """The log funnel of the package's threads (capture, web server, master watch), routed to rosout."""

    debug = staticmethod(rospy.logdebug)
    info = staticmethod(rospy.loginfo)
    warning = staticmethod(rospy.logwarn)
    error = staticmethod(rospy.logerr)


def init_node(name):
    """rospy.init_node with the package's own SIGINT/SIGTERM handling; call done() on the result at the end."""
    line_buffered_stdout()  # before rospy's log handlers take sys.stdout
    # rospy's own signal handler can hang the node for good (see camera_server.shutdown).
    rospy.init_node(name, disable_signals=True)
    return SignalShutdown(rospy.signal_shutdown, rospy.get_name()).install()


def private_param(name, default):
    return rospy.get_param('~' + name, default)


def configured(build):
    """``build()``; a configuration error (a parameter, the calibration file) ends the node with exit code 2."""
    try:
        return build()
    except (ConfigError, CalibrationError) as error:
        rospy.logfatal('invalid configuration: %s' % error)
        sys.exit(2)


def warn_unknown_parameters(schema):
    unknown = unknown_warning(rospy.get_name(), rospy.get_param_names(), schema)
    if unknown:
        rospy.logwarn(unknown)


def watch_master():
    """Starts the thread that registers the node again with a restarted master (rospy never does)."""
    MasterWatch(rosgraph.get_master_uri(), rospy.get_name(), rospy.get_node_uri(),
                get_service_manager().get_services, RosLog).start()
