"""The topic list at /: web_video_server's links in web_video_server's order, escaped names, and a
live thumbnail of every camera with its resolution and rate, seen in a real headless Chromium
driven in real time (two test-pattern cameras of server.launch cameras:=...)."""
import time

import numpy as np
import pytest

from camera_server import viewer
from camera_server.compat import quote
from camera_server.messages import CAMERA_INFO_TYPE, COMPRESSED_TYPE, IMAGE_TYPE
from camera_server.sources import name_colour
from support.html_pages import parse
from support.viewer_checks import crop, thumbnails
from support.web_checks import server_launch

pytestmark = pytest.mark.browser

def web_video_server_links(topic_types):
    """The links web_video_server 0.2.2 writes, in its order (REFERENCE.md section 1), built here
    from its description: each camera_info prefix's image topics, then the remaining image topics."""
    images = sorted(t for t, kind in topic_types.items() if kind == IMAGE_TYPE)
    order = []
    for info in sorted(t for t, kind in topic_types.items() if kind == CAMERA_INFO_TYPE):
        prefix = info[:-len('camera_info')]
        order += [t for t in images if t.startswith(prefix) and t not in order]
    order += [t for t in images if t not in order]
    links = []
    for topic in order:
        ref = quote(topic, safe='/~')
        links += ['/stream_viewer?topic=' + ref, '/stream?topic=' + ref, '/snapshot?topic=' + ref]
    return links


def test_same_links_in_the_same_order_valid_and_escaped():
    types = {'/front/image_raw': IMAGE_TYPE, '/front/camera_info': CAMERA_INFO_TYPE,
             '/front/image_raw/compressed': COMPRESSED_TYPE, '/rear/image_raw': IMAGE_TYPE,
             '/rear/image_rect': IMAGE_TYPE, '/rear/camera_info': CAMERA_INFO_TYPE,
             '/a/processed': IMAGE_TYPE, '/x"><script>alert(1)</script>': IMAGE_TYPE,
             '/d1/image': IMAGE_TYPE, '/d2/image': IMAGE_TYPE, '/chatter': 'std_msgs/String'}
    page = viewer.topic_list_page(types)
    parser = parse(page)  # valid: every element closed in order
    assert parser.links == web_video_server_links(types), parser.links
    assert '<script>alert' not in page and '&lt;script&gt;alert' in page, page
    live = page.count('<img class="thumb" src="/stream?')
    stills = page.count('<img class="thumb" src="/snapshot?')
    assert live == viewer.MAX_LIVE_THUMBNAILS and live + stills == 7, (live, stills)


@pytest.fixture(scope='module')
def two_cameras():
    with server_launch(listed=('/front/image_raw', '/side/image_raw'),
                       cameras='front=test side=test:320x240') as launched:
        yield launched


def test_both_thumbnails_live_with_size_and_rate(two_cameras, browser):
    browser.open('http://127.0.0.1:%d/' % two_cameras.port)
    browser.wait_for('document.querySelectorAll(".camera img").length === 2 && '
                     'Array.prototype.every.call(document.querySelectorAll(".camera img"), '
                     'function (i) { return i.naturalWidth === 240; })', 20, 'two thumbnails 240 px wide')
    browser.wait_for('Array.prototype.every.call(document.querySelectorAll(".figures"), '
                     'function (c) { return / fps$/.test(c.textContent) && !/ 0\\.0 fps/.test(c.textContent); })',
                     10, 'size and rate under every thumbnail')
    shown = dict((topic, (caption, rect)) for topic, caption, _, rect in thumbnails(browser))
    assert shown['/front/image_raw'][0].startswith('640 x 480, '), shown
    assert shown['/side/image_raw'][0].startswith('320 x 240, '), shown
    rates = dict((t['topic'], t['input_fps']) for t in two_cameras.health()['topics'])
    first = browser.screenshot()
    time.sleep(1.0)
    second = browser.screenshot()
    for topic, (caption, rect) in shown.items():
        name = topic.split('/')[1]
        before, after = crop(first, rect), crop(second, rect)
        assert before.shape[:2] == (rect[3], rect[2]) and rect[2] == 240, (topic, rect, before.shape)
        changed = int(np.count_nonzero(np.abs(before.astype(int) - after.astype(int)).max(axis=2) > 40))
        assert changed > 50, '%s: thumbnail changed in %d pixels in 1 s (source %s)' % (topic, changed, rates)
        strip = after[-int(40 * rect[3] / 480.0) + 2:-2, rect[2] // 2:-2].reshape(-1, 3).mean(axis=0)
        assert np.abs(strip - name_colour(name)).max() < 30, '%s: name strip %s, its colour %s' % (
            topic, strip, name_colour(name))
    front, side = (crop(second, shown[t][1]) for t in ('/front/image_raw', '/side/image_raw'))
    height = min(front.shape[0], side.shape[0])
    difference = float(np.abs(front[:height].astype(int) - side[:height].astype(int)).mean())
    assert difference > 5, 'the two thumbnails differ by only %.1f per pixel' % difference
