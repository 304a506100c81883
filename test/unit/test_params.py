"""Parameter validation of the capture node: every bad value names itself and the accepted ones."""
import pytest

from camera_server.params import CAPTURE_DEFAULTS, ConfigError, read_capture_config, unknown_params


def config(**overrides):
    return read_capture_config(lambda name, default: overrides.get(name, default))


def test_defaults_are_valid_and_documented():
    result = config()
    assert result['device'] == '/dev/video0'
    assert result['fourcc'] == 'MJPG'
    assert result['encoding'] == 'bgr8'
    assert set(result) == set(CAPTURE_DEFAULTS)


@pytest.mark.parametrize('value, expected', [('0', 0), (2, 2), ('test', 'test'),
                                             (' /dev/video1 ', '/dev/video1')])
def test_device_forms(value, expected):
    assert config(device=value)['device'] == expected


@pytest.mark.parametrize('name, value, expected_words', [
    ('width', -1, ['~width', '-1', '>= 0']),
    ('height', 'abc', ['~height', "'abc'", 'integer']),
    ('width', 2.5, ['~width', 'integer']),
    ('fps', -5, ['~fps', '>= 0']),
    ('encoding', 'yuv422', ['~encoding', 'yuv422', 'bgr8', 'rgb8', 'mono8']),
    ('fourcc', 'ABCD', ['~fourcc', 'ABCD', 'MJPG', 'YUYV']),
    ('jpeg_quality', 101, ['~jpeg_quality', '<= 100']),
    ('reconnect_interval', 0, ['~reconnect_interval', '> 0']),
    ('loop', 'sometimes', ['~loop', 'true, false']),
    ('device', '', ['~device', '/dev/video0', 'test']),
    ('frame_id', '', ['~frame_id']),
])
def test_bad_values_name_parameter_and_accepted_values(name, value, expected_words):
    with pytest.raises(ConfigError) as error:
        config(**{name: value})
    for word in expected_words:
        assert word in str(error.value), 'missing %r in %r' % (word, str(error.value))


def test_fourcc_is_case_insensitive_and_may_be_empty():
    assert config(fourcc='yuyv')['fourcc'] == 'YUYV'
    assert config(fourcc='')['fourcc'] == ''


def test_loop_accepts_launch_strings():
    assert config(loop='false')['loop'] is False
    assert config(loop=True)['loop'] is True


def test_unknown_private_parameters_are_named():
    names = ['/camera/device', '/camera/source', '/camera/Width', '/camera/image_raw/compressed/format',
             '/other/source', '/cameraX/typo', '/run_id']
    assert unknown_params('/camera', names, CAPTURE_DEFAULTS) == ['Width', 'source']
    assert unknown_params('/camera/', ['/camera/device'], CAPTURE_DEFAULTS) == []
