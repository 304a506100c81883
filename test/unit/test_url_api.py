"""url_api: request targets, query validation with web_video_server's defaults, and source planning;
no sockets, no ROS."""
import pytest

from camera_server import url_api
from camera_server.messages import COMPRESSED_TYPE, IMAGE_TYPE
from camera_server.url_api import HttpError, OutputSpec

TOPICS = {'/camera/image_raw': IMAGE_TYPE, '/camera/image_raw/compressed': COMPRESSED_TYPE,
          '/depth/image': IMAGE_TYPE, '/only/compressed': COMPRESSED_TYPE, '/chatter': 'std_msgs/String'}


def stream(query, **kwargs):
    return url_api.parse_stream_request(url_api.parse_target('/stream?' + query)[1], **kwargs)


def test_query_is_percent_decoded_and_first_value_wins():
    path, params = url_api.parse_target('/stream?topic=%2Fcamera%2Fimage_raw&width=1&width=2&invert')
    assert path == '/stream' and params == {'topic': '/camera/image_raw', 'width': '1', 'invert': ''}, params


def test_defaults_like_web_video_server():
    request = stream('topic=/camera/image_raw')
    assert request == url_api.StreamRequest('/camera/image_raw', 'mjpeg', -1, -1, None, False, 'raw', None), request
    assert stream('topic=camera/image_raw').topic == '/camera/image_raw'
    assert stream('topic=/a', default_type='png').type == 'png'
    assert stream('topic=/a&type=png', snapshot=True).type == 'mjpeg'
    assert stream('topic=/a&invert=0').invert is True  # a presence flag, whatever its value


@pytest.mark.parametrize('query,status,words', [
    ('', 400, 'missing parameter topic'),
    ('topic=/a&width=abc', 400, "bad width='abc': accepted values are integers -1..8192"),
    ('topic=/a&height=-5', 400, 'bad height'),
    ('topic=/a&width=99999', 400, 'bad width'),
    ('topic=/a&quality=0', 400, 'bad quality'),
    ('topic=/a&type=png&quality=10', 400, 'PNG compression level'),
    ('topic=/a&type=h264&bitrate=fast', 400, "bad bitrate='fast': accepted values are integers 10000..100000000 (bits per second)"),
    ('topic=/a&type=h264&bitrate=500', 400, 'bad bitrate'),
    ('topic=/a&type=vp8&gop=0', 400, 'bad gop=\'0\': accepted values are integers 1..1000'),
    ('topic=/a&type=h264&qmax=60', 400, 'bad qmax=\'60\': accepted values are integers 0..51'),
    ('topic=/a&type=vp9&qmin=64', 400, 'bad qmin=\'64\': accepted values are integers 0..63'),
    ('topic=/a&type=vp8&qmin=40&qmax=20', 400, 'qmin <= qmax'),
    ('topic=/a&type=h264&preset=fastest', 400, "bad preset='fastest': accepted values are ultrafast, superfast"),
    ('topic=/a&type=vp8&quality=80', 400, "bad quality='80': accepted values are realtime, good, best"),
    ('topic=/a&type=bmp', 400, 'accepted values are mjpeg, png, ros_compressed, vp8, vp9, h264'),
    ('topic=/a&default_transport=theora', 400, 'default_transport'),
])
def test_bad_queries_name_the_parameter(query, status, words):
    with pytest.raises(HttpError) as caught:
        stream(query)
    assert caught.value.status == status and words in caught.value.reason, caught.value.reason


@pytest.mark.parametrize('query,expected', [
    ('topic=/camera/image_raw', ('/camera/image_raw/compressed', COMPRESSED_TYPE,
                                 OutputSpec('jpeg', -1, -1, None, False))),
    ('topic=/camera/image_raw&type=ros_compressed', ('/camera/image_raw/compressed', COMPRESSED_TYPE,
                                                     OutputSpec('as_is', -1, -1, None, False))),
    ('topic=/camera/image_raw&quality=50', ('/camera/image_raw', IMAGE_TYPE,
                                            OutputSpec('jpeg', -1, -1, 50, False))),
    ('topic=/camera/image_raw&width=0&height=200&invert',
     ('/camera/image_raw', IMAGE_TYPE, OutputSpec('jpeg', -1, 200, None, True))),
    ('topic=/camera/image_raw&width=100&default_transport=compressed',
     ('/camera/image_raw/compressed', COMPRESSED_TYPE, OutputSpec('jpeg', 100, -1, None, False))),
    ('topic=/camera/image_raw&type=png', ('/camera/image_raw', IMAGE_TYPE, OutputSpec('png', -1, -1, None, False))),
    # no T/compressed: ros_compressed falls back to mjpeg, like web_video_server
    ('topic=/depth/image&type=ros_compressed', ('/depth/image', IMAGE_TYPE, OutputSpec('jpeg', -1, -1, None, False))),
    ('topic=/only/compressed&width=10', ('/only/compressed', COMPRESSED_TYPE, OutputSpec('jpeg', 10, -1, None, False))),
])
def test_plan_source_reuses_the_camera_jpeg_when_no_pixel_work(query, expected):
    assert url_api.plan_source(stream(query), TOPICS) == expected


def test_video_settings_defaults_and_values():
    request = stream('topic=/camera/image_raw&type=h264')
    assert request.video == url_api.VideoSettings('h264', None, None, None, None, 'ultrafast', None), request
    request = stream('topic=/a&type=vp8&bitrate=800000&gop=10&qmin=4&qmax=50&quality=good')
    assert request.video == url_api.VideoSettings('vp8', 800000, 10, 4, 50, None, 'good'), request
    # video decodes the camera's JPEG when there is one, whatever default_transport says
    assert url_api.plan_source(stream('topic=/camera/image_raw&type=vp9&width=320'), TOPICS) == (
        '/camera/image_raw/compressed', COMPRESSED_TYPE,
        OutputSpec('video', 320, -1, None, False, url_api.VideoSettings('vp9', None, None, None, None, None, 'realtime')))
    assert url_api.plan_source(stream('topic=/depth/image&type=h264'), TOPICS)[:2] == ('/depth/image', IMAGE_TYPE)


@pytest.mark.parametrize('topic,words', [('/nope', 'not advertised'), ('/chatter', 'std_msgs/String')])
def test_plan_source_404(topic, words):
    with pytest.raises(HttpError) as caught:
        url_api.plan_source(stream('topic=' + topic), TOPICS)
    assert caught.value.status == 404 and words in caught.value.reason, caught.value.reason


@pytest.mark.parametrize('target,path,params', [
    ('/stream?topic=/a', '/stream', {'topic': '/a'}),
    ('http://host:8080/stream?topic=/a', '/stream', {'topic': '/a'}),  # absolute form
    ('HTTPS://host?topic=/a', '/', {'topic': '/a'}),
    ('//stream?topic=/a', '//stream', {'topic': '/a'}),  # not a host: the path as sent
    ('/stream/', '/stream/', {}),
    ('/%2Fstream', '/%2Fstream', {}),  # the path is never percent-decoded
    ('/health/../stream', '/health/../stream', {}),  # nor normalised
    ('/health?x=/stream', '/health', {'x': '/stream'}),
])
def test_target_path_is_taken_as_sent(target, path, params):
    assert url_api.parse_target(target) == (path, params)


@pytest.mark.parametrize('target', ['*', 'stream', '%2Fstream', 'ftp://host/stream', 'http:/stream', ''])
def test_other_target_forms_are_400(target):
    with pytest.raises(HttpError) as error:
        url_api.parse_target(target)
    assert error.value.status == 400 and 'target' in error.value.reason, error.value.reason
