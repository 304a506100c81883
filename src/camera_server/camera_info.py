"""Camera calibration files: camera_calibration_parsers' YAML format, file:// and package:// URLs.

Like camera_info_manager, an empty ``~camera_info_url`` means
``file://${ROS_HOME}/camera_info/${NAME}.yaml``, where a missing file only means the camera
is not calibrated yet. A URL given explicitly must point at a readable calibration.
"""
import os

import yaml

from camera_server.compat import url2pathname, urlsplit


class CalibrationError(ValueError):
    """A calibration URL or file this package cannot use; the message says which and why."""


def ros_home():
    return os.environ.get('ROS_HOME') or os.path.join(os.path.expanduser('~'), '.ros')


def default_url(camera_name):
    return 'file://' + os.path.join(ros_home(), 'camera_info', '%s.yaml' % camera_name)


def resolve_url(url, camera_name, find_package=None):
    """The local file path a calibration URL names.

    ``${NAME}`` and ``${ROS_HOME}`` are substituted as camera_info_manager does;
    ``find_package(name)`` returns a package's directory (rospkg in the node).
    """
    url = url.replace('${NAME}', camera_name).replace('${ROS_HOME}', ros_home())
    parts = urlsplit(url)
    if parts.scheme == 'file':
        return url2pathname(parts.netloc + parts.path)
    if parts.scheme == 'package':
        if find_package is None:
            raise CalibrationError('~camera_info_url: %s: package:// needs ROS package lookup' % url)
        try:
            root = find_package(parts.netloc)
        except Exception as error:  # rospkg raises its own ResourceNotFound
            raise CalibrationError('~camera_info_url: %s: package %r not found (%s)'
                                   % (url, parts.netloc, error))
        return os.path.join(root, parts.path.lstrip('/'))
    raise CalibrationError('~camera_info_url: %r: accepted values: file:///path/to/file.yaml, '
                           'package://<package>/path/to/file.yaml, or empty for %s'
                           % (url, default_url(camera_name)))


def blank_calibration(width, height):
    """An uncalibrated camera: zero matrices, as camera_info_manager publishes."""
    return {'width': width, 'height': height, 'distortion_model': '',
            'D': [], 'K': [0.0] * 9, 'R': [0.0] * 9, 'P': [0.0] * 12}


def _matrix(data, key, rows, cols, path):
    entry = data.get(key)
    values = entry.get('data') if isinstance(entry, dict) else None
    if not isinstance(values, list) or (rows and len(values) != rows * cols):
        raise CalibrationError('%s: %s must have %s values under "data"'
                               % (path, key, rows * cols if rows else 'a list of'))
    return [float(v) for v in values]


def load_calibration(path):
    """The calibration in a camera_calibration_parsers YAML file, as a dict of CameraInfo fields."""
    try:
        with open(path) as calibration_file:
            data = yaml.safe_load(calibration_file)
    except (IOError, OSError) as error:
        raise CalibrationError('~camera_info_url: cannot read %s: %s'
                               % (path, error.strerror or error))
    except yaml.YAMLError as error:
        raise CalibrationError('~camera_info_url: %s is not valid YAML: %s'
                               % (path, str(error).replace('\n', ' ')))
    if not isinstance(data, dict):
        raise CalibrationError('~camera_info_url: %s is not a calibration file' % path)
    try:
        return {
            'width': int(data['image_width']),
            'height': int(data['image_height']),
            'distortion_model': str(data.get('distortion_model', 'plumb_bob')),
            'D': _matrix(data, 'distortion_coefficients', 0, 0, path),
            'K': _matrix(data, 'camera_matrix', 3, 3, path),
            'R': _matrix(data, 'rectification_matrix', 3, 3, path),
            'P': _matrix(data, 'projection_matrix', 3, 4, path),
        }
    except (KeyError, TypeError, ValueError) as error:
        raise CalibrationError('~camera_info_url: %s is missing or has a bad field: %s'
                               % (path, error))


def save_calibration(path, camera_name, calibration):
    """Writes ``calibration`` (CameraInfo fields) to ``path`` in the same YAML format."""
    def block(rows, cols, values):
        return {'rows': rows, 'cols': cols, 'data': [float(v) for v in values]}
    data = {
        'image_width': int(calibration['width']),
        'image_height': int(calibration['height']),
        'camera_name': camera_name,
        'camera_matrix': block(3, 3, calibration['K']),
        'distortion_model': calibration['distortion_model'],
        'distortion_coefficients': block(1, len(calibration['D']), calibration['D']),
        'rectification_matrix': block(3, 3, calibration['R']),
        'projection_matrix': block(3, 4, calibration['P']),
    }
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory)
    temporary = path + '.tmp'
    # Keep the conventional field order; PyYAML < 5.1 (Melodic) has no sort_keys.
    options = {'default_flow_style': None}
    if tuple(int(p) for p in yaml.__version__.split('.')[:2]) >= (5, 1):
        options['sort_keys'] = False
    with open(temporary, 'w') as calibration_file:
        yaml.safe_dump(data, calibration_file, **options)
    os.rename(temporary, path)


def load_for_node(url, camera_name, find_package=None):
    """(calibration dict or None, path to save to, message) for the node's start-up.

    An explicit URL must load; the default URL may not exist yet.
    """
    explicit = bool(url)
    path = resolve_url(url or default_url(camera_name), camera_name, find_package)
    if not explicit and not os.path.exists(path):
        return None, path, 'camera is not calibrated (no %s yet); set_camera_info saves there' % path
    return load_calibration(path), path, 'loaded calibration from %s' % path
