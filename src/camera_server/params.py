"""The capture node's parameters: read once at start, validated, with clear errors.

``read_capture_config(get_param)`` takes any ``get_param(name, default)`` callable
(``rospy.get_param`` with ``~`` names in the node, a dict lookup in the tests).
"""
from camera_server.compat import string_types
from camera_server.image_codec import PUBLISH_ENCODINGS

# Pixel formats a V4L2 camera may be asked for; '' keeps the camera's own default.
FOURCCS = ('', 'MJPG', 'YUYV', 'YUY2', 'UYVY', 'H264', 'GREY', 'NV12', 'RGB3', 'BGR3')

# name -> default; the README's parameter table lists the same.
CAPTURE_DEFAULTS = {
    'device': '/dev/video0',
    'width': 0,
    'height': 0,
    'fps': 0.0,
    'fourcc': 'MJPG',
    'frame_id': 'camera',
    'camera_name': 'camera',
    'camera_info_url': '',
    'encoding': 'bgr8',
    'loop': True,
    'reconnect_interval': 1.0,
    'jpeg_quality': 80,
    'stats_interval': 30.0,
}


class ConfigError(ValueError):
    """A parameter with a value this package cannot use; the message names both and what is accepted."""


def number(name, value, kind, minimum, maximum=None, exclusive_min=False):
    """``value`` of parameter ``name`` as ``kind`` within the bounds, or ConfigError."""
    try:
        if isinstance(value, bool) or value is None:
            raise ValueError
        number = kind(value)
        if kind is int and float(value) != number:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError('~%s: %r is not a number; accepted values: %s'
                          % (name, value, _range_text(kind, minimum, maximum, exclusive_min)))
    too_low = number <= minimum if exclusive_min else number < minimum
    if too_low or (maximum is not None and number > maximum):
        raise ConfigError('~%s: %r is out of range; accepted values: %s'
                          % (name, value, _range_text(kind, minimum, maximum, exclusive_min)))
    return number


def _range_text(kind, minimum, maximum, exclusive_min):
    word = 'an integer' if kind is int else 'a number'
    low = ('> %s' if exclusive_min else '>= %s') % minimum
    return '%s %s%s' % (word, low, '' if maximum is None else ' and <= %s' % maximum)


def boolean(name, value):
    """``value`` of parameter ``name`` as a bool (true/false, 1/0, yes/no, on/off), or ConfigError."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('true', '1', 'yes', 'on'):
        return True
    if text in ('false', '0', 'no', 'off'):
        return False
    raise ConfigError('~%s: %r is not a boolean; accepted values: true, false' % (name, value))


def choice(name, value, accepted):
    """``value`` when it is one of ``accepted``, or ConfigError listing them."""
    if value not in accepted:
        raise ConfigError('~%s: %r is not supported; accepted values: %s'
                          % (name, value, ', '.join(repr(a) if a == '' else a for a in accepted)))
    return value


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


def unknown_params(node_name, param_names, known):
    """Names of ``node_name``'s own private parameters (among ``param_names``) not in ``known``: typos, mostly."""
    prefix = node_name.rstrip('/') + '/'
    private = set(name[len(prefix):] for name in param_names if name.startswith(prefix))
    return sorted(name for name in private - set(known) if '/' not in name)


def read_capture_config(get_param):
    """Every capture parameter, validated, as a dict; raises ConfigError on the first bad one."""
    raw = dict((name, get_param(name, default)) for name, default in CAPTURE_DEFAULTS.items())
    fourcc = raw['fourcc']
    fourcc = str(fourcc).upper() if isinstance(fourcc, string_types) else fourcc
    config = {
        'device': parse_device(raw['device']),
        'width': number('width', raw['width'], int, 0),
        'height': number('height', raw['height'], int, 0),
        'fps': number('fps', raw['fps'], float, 0.0),
        'fourcc': choice('fourcc', fourcc, FOURCCS),
        'frame_id': str(raw['frame_id']),
        'camera_name': str(raw['camera_name']),
        'camera_info_url': str(raw['camera_info_url']),
        'encoding': choice('encoding', raw['encoding'], sorted(PUBLISH_ENCODINGS)),
        'loop': boolean('loop', raw['loop']),
        'reconnect_interval': number('reconnect_interval', raw['reconnect_interval'],
                                      float, 0.0, exclusive_min=True),
        'jpeg_quality': number('jpeg_quality', raw['jpeg_quality'], int, 1, 100),
        'stats_interval': number('stats_interval', raw['stats_interval'], float, 0.0,
                                  exclusive_min=True),
    }
    if not config['frame_id']:
        raise ConfigError("~frame_id: empty; accepted values: a non-empty TF frame name")
    return config
