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
from sensor_msgs.msg import CompressedImage, Image

from camera_server.auth import AUTH_ENV
from camera_server.master_watch import timeout_proxy
from camera_server.messages import COMPRESSED_TYPE, CompressedMessage, ImageMessage
from camera_server.ros_node import RosLog, configured, init_node, private_param, warn_unknown_parameters, watch_master
from camera_server.url_api import HttpError
from camera_server.web_params import WEB_PARAMS, read_web_config
from camera_server.web_server import CameraWebServer

MASTER_TIMEOUT_S = 2.0  # a request that needs the topic list gets 503 after this, not a hang
SUBSCRIBER_BUFF_SIZE = 2 ** 24  # big enough for several raw frames, so rospy can skip to the newest


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


def read_config():
    """(address, port, ServerConfig) of the private parameters; a bad one ends the node (exit code 2)."""
    return configured(lambda: read_web_config(private_param, os.environ.get(AUTH_ENV, '')))


def start_server(address, port, config, subscribe):
    """The CameraWebServer of ``config``, serving, stopped at shutdown; a port it cannot listen on
    ends the node (exit code 1). ``subscribe`` is RosTopics.subscribe or one that serves some
    topics in-process (pipeline_node)."""
    try:
        server = CameraWebServer((address, port), config, RosTopics.topic_types, subscribe, RosLog)
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
    return server


def main(selection_note=None):
    """Run the node; ``selection_note`` says why the server:=auto launcher chose it."""
    signals = init_node('web_server')
    if selection_note:
        rospy.loginfo(selection_note)
    address, port, config = read_config()
    warn_unknown_parameters(WEB_PARAMS)
    start_server(address, port, config, RosTopics.subscribe)
    watch_master()
    rospy.spin()
    signals.done()
