"""The viewer page's HTML (viewer.stream_viewer_page): valid, escaped, with its switch between types."""
import json

from camera_server.viewer import stream_viewer_page
from support.html_pages import parse

HOSTILE = '/cam"><script>alert(1)</script></script><!--\u2028&amp;'


def page_config(parser):
    """The viewer's settings: the page's one inline script element, JSON (its others are files)."""
    assert len(parser.scripts) == 1, parser.scripts
    return json.loads(parser.scripts[0])


def test_plain_viewer_is_valid_html_with_a_switch_to_video():
    parser = parse(stream_viewer_page('/camera/image_raw', 'mjpeg',
                                      {'topic': '/camera/image_raw', 'width': '320', 'quality': '50'}))
    assert parser.texts['h1'] == ['/camera/image_raw'], parser.texts
    assert '/stream_viewer?topic=/camera/image_raw&type=h264&width=320' in parser.links, parser.links
    assert '/stream_viewer?topic=/camera/image_raw&type=vp8&width=320' in parser.links, parser.links
    assert parser.texts['strong'] == ['MJPEG'], parser.texts
    config = page_config(parser)
    assert config['streamUrl'] == '/stream?quality=50&topic=/camera/image_raw&width=320', config
    assert config['video'] is False, config


def test_video_viewer_falls_back_to_mjpeg_of_the_same_frame_size():
    params = {'topic': '/cam/image', 'type': 'h264', 'bitrate': '500000', 'height': '240', 'invert': ''}
    parser = parse(stream_viewer_page('/cam/image', 'h264', params))
    config = page_config(parser)
    assert config['video'] is True and config['type'] == 'h264', config
    assert config['streamUrl'] == '/stream?bitrate=500000&height=240&invert=&topic=/cam/image&type=h264', config
    assert config['mjpegUrl'] == '/stream?height=240&invert=&topic=/cam/image&type=mjpeg', config
    assert '/stream_viewer?height=240&invert=&topic=/cam/image&type=mjpeg' in parser.links, parser.links
    assert parser.texts['strong'] == ['H.264 video'], parser.texts


def test_png_viewer_names_its_own_type_and_offers_the_others():
    parser = parse(stream_viewer_page('/t', 'png', {'topic': '/t', 'type': 'png'}))
    assert parser.texts['strong'] == ['png'], parser.texts
    assert len(parser.links) == 3, parser.links


def test_a_hostile_topic_stays_text():
    page = stream_viewer_page(HOSTILE, 'h264', {'topic': HOSTILE, 'type': 'h264'})
    plain = stream_viewer_page('/cam', 'h264', {'topic': '/cam', 'type': 'h264'})
    parser = parse(page)
    assert page.count('<script') == plain.count('<script') and '<!--' not in page, page
    assert parser.texts['h1'] == [HOSTILE] and parser.texts['title'] == [HOSTILE], parser.texts
    assert page_config(parser)['topic'] == HOSTILE
    assert all('"' not in link and '<' not in link for link in parser.links), parser.links
