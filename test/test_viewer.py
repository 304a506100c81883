"""The viewer page's HTML (viewer.stream_viewer_page): valid, escaped, with its switch between types."""
import json

from html.parser import HTMLParser

from camera_server.viewer import stream_viewer_page

VOID = {'meta', 'img', 'br', 'input', 'link', 'hr', 'source'}
HOSTILE = '/cam"><script>alert(1)</script></script><!--\u2028&amp;'


class PageParser(HTMLParser):
    """Checks that every element is closed in order, and collects texts, links and scripts."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.open, self.problems, self.links, self.scripts, self.texts = [], [], [], [], {}
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        if tag == 'a':
            self.links.append(dict(attrs)['href'])
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.problems.append('</%s> closes %s' % (tag, self.open[-1:] or 'nothing'))
        else:
            self.open.pop()

    def handle_data(self, data):
        if self.open:
            if self.open[-1] == 'script':
                self.scripts.append(data)
            self.texts.setdefault(self.open[-1], []).append(data)


def parse(page):
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert parser.doctype == 'DOCTYPE html', parser.doctype
    assert not parser.problems and not parser.open, (parser.problems, parser.open)
    return parser


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
