"""Calibration YAML round trip and URL resolution, without a ROS master."""
import os

import pytest

from camera_server import camera_info
from support.calibration import YAML


def test_load_camera_calibration_parsers_format(tmp_path):
    path = tmp_path / 'cam.yaml'
    path.write_bytes(YAML.encode('utf-8'))
    calibration = camera_info.load_calibration(str(path))
    assert (calibration['width'], calibration['height']) == (640, 480)
    assert calibration['K'][0] == 500.0 and calibration['K'][8] == 1.0
    assert calibration['D'] == [-0.1, 0.01, 0.0, 0.0, 0.0]
    assert len(calibration['P']) == 12 and calibration['distortion_model'] == 'plumb_bob'


def test_save_then_load_is_identical(tmp_path):
    path = str(tmp_path / 'sub' / 'saved.yaml')
    original = camera_info.load_calibration(_write(tmp_path, YAML))
    camera_info.save_calibration(path, 'camera', original)
    assert camera_info.load_calibration(path) == original
    assert 'camera_name: camera' in open(path).read()


def test_file_and_package_urls(tmp_path):
    assert camera_info.resolve_url('file:///a/b.yaml', 'cam') == '/a/b.yaml'
    assert camera_info.resolve_url('package://pkg/calib/${NAME}.yaml', 'left',
                                   lambda name: '/opt/' + name) == '/opt/pkg/calib/left.yaml'


def test_unknown_package_and_scheme_are_clear_errors():
    def missing(name):
        raise LookupError(name)
    with pytest.raises(camera_info.CalibrationError) as error:
        camera_info.resolve_url('package://nope/x.yaml', 'cam', missing)
    assert "'nope' not found" in str(error.value)
    with pytest.raises(camera_info.CalibrationError) as error:
        camera_info.resolve_url('http://host/x.yaml', 'cam')
    assert 'file://' in str(error.value) and 'package://' in str(error.value)


def test_explicit_missing_file_is_an_error_default_one_is_uncalibrated(tmp_path, monkeypatch):
    with pytest.raises(camera_info.CalibrationError) as error:
        camera_info.load_for_node('file://%s/none.yaml' % tmp_path, 'cam')
    assert '~camera_info_url' in str(error.value) and 'none.yaml' in str(error.value)
    monkeypatch.setenv('ROS_HOME', str(tmp_path))
    calibration, path, message = camera_info.load_for_node('', 'cam')
    assert calibration is None
    assert path == os.path.join(str(tmp_path), 'camera_info', 'cam.yaml')
    assert 'not calibrated' in message


@pytest.mark.parametrize('text, words', [('a: [1, 2', 'not valid YAML'),
                                         ('image_width: 640\n', 'missing or has a bad field'),
                                         ('- just a list', 'not a calibration file')])
def test_broken_files_are_named(tmp_path, text, words):
    with pytest.raises(camera_info.CalibrationError) as error:
        camera_info.load_calibration(_write(tmp_path, text))
    assert words in str(error.value)


def _write(tmp_path, text):
    path = tmp_path / 'in.yaml'
    path.write_bytes(text.encode('utf-8'))
    return str(path)
