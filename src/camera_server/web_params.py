"""The built-in web server's parameter schema and its configuration (README "web_server" table).

``read_web_config(get_param, auth_env)`` reads and validates every private parameter once;
DEFAULT_CONFIG is the configuration of the defaults (no credentials, plain HTTP).
"""
from collections import namedtuple

from camera_server.auth import load_credentials
from camera_server.ffmpeg_probe import H264_ENCODER_CHOICES
from camera_server.params import ConfigError, Param, boolean, defaults, integer, one_of, read_params, real, text
from camera_server.tls import server_context
from camera_server.url_api import STREAM_TYPES, VIDEO_TYPES

WEB_PARAMS = (
    Param('address', '0.0.0.0', text),
    Param('port', 8080, integer(0, 65535)),
    Param('default_stream_type', 'mjpeg', one_of(STREAM_TYPES + VIDEO_TYPES)),
    Param('publish_rate', -1.0, real(-1.0, 1000.0)),
    Param('max_clients', 64, integer(0, 10000)),
    Param('cors_origin', '*', text),
    Param('auth_file', '', text),
    Param('request_timeout', 10.0, real(0.1, 3600.0)),
    Param('send_timeout', 10.0, real(0.1, 3600.0)),
    Param('snapshot_timeout', 3.0, real(0.0, 60.0)),
    Param('ffmpeg', 'ffmpeg', text),
    Param('h264_encoder', 'auto', one_of(H264_ENCODER_CHOICES)),
    Param('stale_after', 2.0, real(0.1, 3600.0)),
    Param('placeholders', True, boolean),
    Param('max_pending_requests', 256, integer(1, 100000)),
    Param('certfile', '', text),
    Param('keyfile', '', text),
)

# What CameraWebServer runs with: the parameters but address and port, with the credentials
# read (from ~auth_file and the environment) and the TLS context made (from ~certfile/~keyfile).
ServerConfig = namedtuple('ServerConfig', 'default_stream_type publish_rate max_clients cors_origin '
                                          'credentials request_timeout send_timeout snapshot_timeout '
                                          'ffmpeg h264_encoder stale_after placeholders '
                                          'max_pending_requests tls')


def server_config(values, credentials, tls):
    return ServerConfig(credentials=credentials, tls=tls,
                        **dict((name, values[name]) for name in ServerConfig._fields if name in values))


DEFAULT_CONFIG = server_config(defaults(WEB_PARAMS), (), None)


def read_web_config(get_param, auth_env):
    """(address, port, ServerConfig) from the parameters and ``auth_env`` (the environment's
    credentials, see auth.AUTH_ENV); raises ConfigError."""
    values = read_params(WEB_PARAMS, get_param)
    try:
        credentials = load_credentials(values['auth_file'], auth_env)
    except ValueError as err:
        raise ConfigError(str(err))
    tls = server_context(values['certfile'], values['keyfile'])
    return values['address'], values['port'], server_config(values, credentials, tls)
