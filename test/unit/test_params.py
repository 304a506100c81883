"""The nodes' parameter schemas: every bad value names itself and the accepted ones, and the launch
files and the README carry the schemas' names and defaults."""
import os
import re
import xml.etree.ElementTree as ET

import pytest

from camera_server.capture_params import CAPTURE_DEFAULTS, CAPTURE_PARAMS, read_capture_config
from camera_server.params import ConfigError, defaults, unknown_params, unknown_warning
from camera_server.web_params import DEFAULT_CONFIG, WEB_PARAMS, read_web_config

pytestmark = pytest.mark.unit

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def test_web_defaults_make_the_default_config_and_bad_values_are_named():
    address, port, config = read_web_config(lambda name, default: default, '')
    assert (address, port, config) == ('0.0.0.0', 8080, DEFAULT_CONFIG), config
    given = {'max_clients': '8', 'placeholders': 'off', 'default_stream_type': 'vp9'}
    config = read_web_config(lambda name, default: given.get(name, default), 'user:secret')[2]
    assert (config.max_clients, config.placeholders, config.default_stream_type, config.credentials) == \
        (8, False, 'vp9', ('user:secret',)), config
    for name, bad, words in (('port', 70000, ['~port', '<= 65535']), ('h264_encoder', 'x265', ['~h264_encoder', 'libx264']),
                             ('request_timeout', 0, ['~request_timeout', '>= 0.1'])):
        with pytest.raises(ConfigError) as raised:
            read_web_config(lambda key, default: bad if key == name else default, '')
        assert all(word in str(raised.value) for word in words), str(raised.value)


def test_unknown_parameters_are_named_with_the_known_ones():
    line = unknown_warning('/web', ['/web/prot', '/web/port', '/other/x'], WEB_PARAMS)
    assert line.startswith('ignoring unknown parameter(s) ~prot; the parameters are address, auth_file'), line
    assert unknown_warning('/web', ['/web/port'], WEB_PARAMS) is None


def launch_args(name):
    """{arg: default} of launch/``name``, $(arg X) in a default resolved from the file's own args."""
    args = dict((arg.get('name'), arg.get('default')) for arg in ET.parse(os.path.join(REPO, 'launch', name)).iter('arg')
                if arg.get('default') is not None)
    return dict((key, re.sub(r'\$\(arg (\w+)\)', lambda match: args[match.group(1)], value)) for key, value in args.items())


def same_value(text, default):
    """True when the launch or README text ``text`` means ``default``."""
    if isinstance(default, bool):
        return text == str(default).lower()
    if isinstance(default, (int, float)):
        return float(text) == default
    return text == default


@pytest.mark.parametrize('launch,schema', [('capture.launch', CAPTURE_PARAMS), ('server.launch', WEB_PARAMS + CAPTURE_PARAMS)])
def test_launch_files_have_every_parameter_with_the_schemas_default(launch, schema):
    args = launch_args(launch)
    wrong = ['%s: %r, schema %r' % (p.name, args.get(p.name), p.default) for p in schema
             if p.name not in args or not same_value(args[p.name], p.default)]
    assert not wrong, '%s differs from the schema: %s' % (launch, wrong)


@pytest.mark.parametrize('launch,schema', [('capture_params.launch', CAPTURE_PARAMS), ('web_params.launch', WEB_PARAMS)])
def test_parameter_launch_files_set_every_parameter_from_its_argument(launch, schema):
    """What every node of server.launch and capture.launch gets: one schema, one file."""
    params = dict((param.get('name'), param.get('value'))
                  for param in ET.parse(os.path.join(REPO, 'launch', launch)).iter('param'))
    expected = dict((p.name, '$(arg %s)' % p.name) for p in schema)
    assert params == expected, '%s sets %s' % (launch, sorted(set(params.items()) ^ set(expected.items())))


def readme_table(section):
    """{parameter: default text} of the README's table under ``### section``."""
    with open(os.path.join(REPO, 'README.md')) as readme:
        text = readme.read()
    body = text.split('\n### %s\n' % section, 1)[1].split('\n#', 1)[0]
    rows = re.findall(r'^\| `(\w+)` \| `([^`]*)` \|', body, re.M)
    return dict((name, '' if default == '""' else default) for name, default in rows)


@pytest.mark.parametrize('section,schema', [('capture_node', CAPTURE_PARAMS), ('web_server', WEB_PARAMS)])
def test_readme_table_lists_the_schema(section, schema):
    table = readme_table(section)
    assert sorted(table) == sorted(defaults(schema)), 'README %s table: %s' % (section, sorted(table))
    wrong = ['%s: %r, schema %r' % (p.name, table[p.name], p.default) for p in schema
             if not same_value(table[p.name], p.default)]
    assert not wrong, 'README %s table differs from the schema: %s' % (section, wrong)


def test_rospy_unicode_strings_are_read_like_str():
    """rospy on Python 2.7 hands strings over as unicode as well as str."""
    result = config(device=u'test', fourcc=u'yuyv', width=u'640', loop=u'false', encoding=u'mono8')
    assert (result['device'], result['fourcc'], result['width'], result['loop'], result['encoding']) == \
        ('test', 'YUYV', 640, False, 'mono8'), result
    assert config(device=u'2')['device'] == 2
