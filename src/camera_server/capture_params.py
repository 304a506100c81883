"""The capture node's parameter schema: names, defaults, validation (README "capture_node" table)."""
from camera_server.compat import string_types
from camera_server.image_codec import PUBLISH_ENCODINGS
from camera_server.params import (ConfigError, Param, boolean, defaults, integer, number, one_of, read_params,
                                  real, text)

# Pixel formats a V4L2 camera may be asked for; '' keeps the camera's own default.
FOURCCS = ('', 'MJPG', 'YUYV', 'YUY2', 'UYVY', 'H264', 'GREY', 'NV12', 'RGB3', 'BGR3')


def parse_device(value):
    """The ``~device`` value as an int (camera index) or a non-empty string."""
    if isinstance(value, bool):
        raise ConfigError('~device: %r is not a device; accepted values: a V4L2 path such as '
                          '/dev/video0, a camera index, a video or image file, an http://, '
                          'https:// or rtsp:// URL, or "test"' % (value,))
    if isinstance(value, int):
        return number('device', value, int, 0)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    if not text:
        raise ConfigError('~device: empty; accepted values: a V4L2 path such as /dev/video0, '
                          'a camera index, a video or image file, an http://, https:// or '
                          'rtsp:// URL, or "test"')
    return text


def _fourcc(value):
    return str(value).upper() if isinstance(value, string_types) else value


CAPTURE_PARAMS = (
    Param('device', '/dev/video0', lambda name, value: parse_device(value)),
    Param('width', 0, integer(0)),
    Param('height', 0, integer(0)),
    Param('fps', 0.0, real(0.0)),
    Param('fourcc', 'MJPG', one_of(FOURCCS, _fourcc)),
    Param('frame_id', 'camera', text),
    Param('camera_name', 'camera', text),
    Param('camera_info_url', '', text),
    Param('encoding', 'bgr8', one_of(sorted(PUBLISH_ENCODINGS))),
    Param('loop', True, boolean),
    Param('reconnect_interval', 1.0, real(0.0, exclusive_min=True)),
    Param('jpeg_quality', 80, integer(1, 100)),
    Param('stats_interval', 30.0, real(0.0, exclusive_min=True)),
)
CAPTURE_DEFAULTS = defaults(CAPTURE_PARAMS)


def read_capture_config(get_param):
    """Every capture parameter, validated, as a dict; raises ConfigError on the first bad one."""
    config = read_params(CAPTURE_PARAMS, get_param)
    if not config['frame_id']:
        raise ConfigError("~frame_id: empty; accepted values: a non-empty TF frame name")
    return config
