"""The built-in web server node: rospy glue around web_server.CameraWebServer.

Reads and validates the private parameters once, serves until shutdown. Topics are
discovered from the master per request; a topic is subscribed (queue_size=1, a large
receive buffer so only the newest message is kept) when its first client arrives and
unregistered when its last client leaves.
"""
import os
import socket
import sys

import rosgraph
import rospy
from rospy.impl.registration import get_service_manager
from sensor_msgs.msg import CompressedImage, Image

from camera_server.auth import AUTH_ENV, load_credentials
from camera_server.messages import COMPRESSED_TYPE, CompressedMessage, ImageMessage
from camera_server.master_watch import MasterWatch, timeout_proxy
from camera_server.params import ConfigError, boolean, choice, number
from camera_server.shutdown import SignalShutdown
from camera_server.tls import server_context
from camera_server.url_api import STREAM_TYPES, VIDEO_TYPES, HttpError
from camera_server.ffmpeg_probe import H264_ENCODER_CHOICES
from camera_server.web_server import CameraWebServer, ServerConfig

MASTER_TIMEOUT_S = 2.0  # a request that needs the topic list gets 503 after this, not a hang
SUBSCRIBER_BUFF_SIZE = 2 ** 24  # big enough for several raw frames, so rospy can skip to the newest


class RosLog(object):
    """The web server's log funnel, routed to rosout."""

    debug = staticmethod(rospy.logdebug)
    info = staticmethod(rospy.loginfo)
    warning = staticmethod(rospy.logwarn)
    error = staticmethod(rospy.logerr)


def _number(name, default, low, high, kind=float):
    return number(name, rospy.get_param('~' + name, default), kind, low, high)


def read_params():
    """(address, port, ServerConfig) from the private parameters; raises ConfigError."""
    address = str(rospy.get_param('~address', '0.0.0.0'))
    port = _number('port', 8080, 0, 65535, int)
    default_type = choice('default_stream_type', rospy.get_param('~default_stream_type', 'mjpeg'),
                          STREAM_TYPES + VIDEO_TYPES)
    try:
        credentials = load_credentials(rospy.get_param('~auth_file', ''), os.environ.get(AUTH_ENV, ''))
    except ValueError as err:
        raise ConfigError(str(err))
    config = ServerConfig(
        default_stream_type=default_type,
        publish_rate=_number('publish_rate', -1.0, -1.0, 1000.0),
        max_clients=_number('max_clients', 64, 0, 10000, int),
        cors_origin=str(rospy.get_param('~cors_origin', '*')),
        credentials=credentials,
        request_timeout=_number('request_timeout', 10.0, 0.1, 3600.0),
        send_timeout=_number('send_timeout', 10.0, 0.1, 3600.0),
        snapshot_timeout=_number('snapshot_timeout', 3.0, 0.0, 60.0),
        ffmpeg=str(rospy.get_param('~ffmpeg', 'ffmpeg')),
        h264_encoder=choice('h264_encoder', rospy.get_param('~h264_encoder', 'auto'), H264_ENCODER_CHOICES),
        stale_after=_number('stale_after', 2.0, 0.1, 3600.0),
        placeholders=boolean('placeholders', rospy.get_param('~placeholders', True)),
        max_pending_requests=_number('max_pending_requests', 256, 1, 100000, int),
        tls=server_context(str(rospy.get_param('~certfile', '')), str(rospy.get_param('~keyfile', ''))))
    return address, port, config


class RosTopics(object):
    """The two callables CameraWebServer needs, backed by the ROS master and rospy."""

    @staticmethod
    def topic_types():
        # Not through rospy's master proxy: it has no timeout, so a hung or unreachable
        # master would hold every request for minutes.
        master = timeout_proxy(rosgraph.get_master_uri(), MASTER_TIMEOUT_S)
        try:
            code, message, topics = master.getPublishedTopics(rospy.get_name(), '/')
        except (socket.error, IOError) as err:  # refused, unreachable, timed out
            raise HttpError(503, 'ROS master unreachable: %s' % (err or type(err).__name__))
        if code != 1:
            raise HttpError(503, 'ROS master refused the topic list: %s' % message)
        return dict(topics)

    @staticmethod
    def subscribe(topic, msg_type, callback):
        if msg_type == COMPRESSED_TYPE:
            def on_message(msg):
                callback(CompressedMessage(msg.header.stamp.to_sec(), msg.format, msg.data))
            msg_class = CompressedImage
        else:
            def on_message(msg):
                callback(ImageMessage(msg.header.stamp.to_sec(), msg.encoding, msg.height, msg.width,
                                     msg.step, msg.data, msg.is_bigendian))
            msg_class = Image
        return rospy.Subscriber(topic, msg_class, on_message, queue_size=1,
                                buff_size=SUBSCRIBER_BUFF_SIZE, tcp_nodelay=True)


def main(selection_note=None):
    """Run the node; ``selection_note`` says why the server:=auto launcher chose it."""
    # rospy's own signal handler can hang the node for good (see camera_server.shutdown).
    rospy.init_node('web_server', disable_signals=True)
    signals = SignalShutdown(rospy.signal_shutdown, rospy.get_name()).install()
    if selection_note:
        rospy.loginfo(selection_note)
    try:
        address, port, config = read_params()
        server = CameraWebServer((address, port), config, RosTopics.topic_types, RosTopics.subscribe,
                                 RosLog)
    except ConfigError as err:
        rospy.logfatal('invalid configuration: %s' % err)
        sys.exit(2)
    except (socket.error, OSError) as err:
        rospy.logfatal('cannot listen on %s:%d (~address, ~port): %s' % (address, port, err))
        sys.exit(1)
    scheme = 'https' if config.tls else 'http'
    rospy.loginfo('web server on %s://%s:%d/ (default_stream_type=%s publish_rate=%s max_clients=%d '
                  'cors_origin=%r auth=%s request_timeout=%.1fs send_timeout=%.1fs snapshot_timeout=%.1fs '
                  'ffmpeg=%s h264_encoder=%s stale_after=%.1fs placeholders=%s max_pending_requests=%d)'
                  % (scheme, address, server.port, config.default_stream_type, config.publish_rate,
                     config.max_clients, config.cors_origin, 'on' if config.credentials else 'off',
                     config.request_timeout, config.send_timeout, config.snapshot_timeout,
                     config.ffmpeg, config.h264_encoder, config.stale_after,
                     'on' if config.placeholders else 'off', config.max_pending_requests))
    server.start()
    host = socket.gethostname() if address in ('0.0.0.0', '::', '') else address
    rospy.loginfo('open %s://%s:%d/ in a browser' % (scheme, host, server.port))
    rospy.on_shutdown(server.stop)
    watch = MasterWatch(rosgraph.get_master_uri(), rospy.get_name(), rospy.get_node_uri(),
                        get_service_manager().get_services, RosLog)
    watch.start()  # rospy never registers again with a master that restarted
    rospy.spin()
    signals.done()
