"""The two HTML pages: the topic list (/) and the live viewer (/stream_viewer).

Filled in from the templates in www/ (web_files.py); the pages' scripts and style sheet are
assets there too. Every topic name is HTML-escaped, and JSON-escaped in the viewer's settings
(web_video_server writes them raw).
"""
from camera_server.compat import html_escape as escape, quote
from camera_server.http_replies import safe_json
from camera_server.messages import CAMERA_INFO_TYPE, IMAGE_TYPE
from camera_server.web_files import template


# Thumbnails on the topic list: small server-side encodes of the camera's JPEG (or raw image).
THUMBNAIL_QUERY = {'width': '240', 'quality': '75', 'default_transport': 'compressed'}
# Browsers open at most 6 connections to one server; live thumbnails beyond these would leave
# none for the page's /health requests or a click, so later topics show a snapshot.
MAX_LIVE_THUMBNAILS = 4
STILL_NOTE = ' (still: open the viewer for live video)'  # after a snapshot thumbnail's caption

TEMPLATES = dict((name, template(name + '.html')) for name in (
    'topic_list', 'topic_group', 'topic_item', 'stream_viewer', 'mode_current', 'mode_link'))


def _topic_item(topic, label, live):
    """One entry: web_video_server's three links, then (not a link) the camera's thumbnail and figures."""
    thumbnail = ('/stream?' if live else '/snapshot?') + encode_query(dict(THUMBNAIL_QUERY, topic=topic))
    return TEMPLATES['topic_item'].substitute(
        ref=escape(quote(topic, safe='/~'), True), label=escape(label, True), name=escape(topic, True),
        thumbnail=escape(thumbnail, True), still='' if live else STILL_NOTE)


def topic_list_page(topic_types):
    """web_video_server's "ROS Image Topic List": image topics grouped under each camera_info prefix,
    with the same links in the same order, and a live thumbnail of each with its size and rate.

    ``topic_types`` maps topic names to message types.
    """
    images = sorted(t for t, kind in topic_types.items() if kind == IMAGE_TYPE)
    bases = sorted(t[:-len('camera_info')] for t, kind in topic_types.items()
                   if kind == CAMERA_INFO_TYPE and t.endswith('/camera_info'))
    groups = []  # (group name or None, [topics]) in page order
    for base in bases:
        groups.append((base, [t for t in images if t.startswith(base)]))
        images = [t for t in images if not t.startswith(base)]
    groups.append((None, images))
    shown = [0]

    def item(topic, label):
        shown[0] += 1
        return _topic_item(topic, label, shown[0] <= MAX_LIVE_THUMBNAILS)
    return TEMPLATES['topic_list'].substitute(
        groups=''.join(TEMPLATES['topic_group'].substitute(
            name=escape(base, True), items=''.join(item(t, t[len(base):]) for t in topics))
            for base, topics in groups[:-1]),
        topics=''.join(item(t, t) for t in groups[-1][1]))


# The stream types the viewer's switch offers, with their labels; a png or ros_compressed
# viewer shows its own type as the current one.
VIEWER_MODES = (('mjpeg', 'MJPEG'), ('h264', 'H.264 video'), ('vp8', 'VP8 video'))
VIDEO_PLAYER_TYPES = ('h264', 'vp8', 'vp9')  # played through Media Source Extensions
# Query parameters that mean the same for every type: the switch and the MJPEG fallback keep them.
SHAPE_PARAMS = ('topic', 'width', 'height', 'invert', 'default_transport')


def _mode_switch(stream_type, params):
    """The links to the other types' viewers, the current type in bold (first when the switch lacks it)."""
    shape = dict((key, value) for key, value in params.items() if key in SHAPE_PARAMS)
    modes = list(VIEWER_MODES)
    if stream_type not in dict(VIEWER_MODES):
        modes.insert(0, (stream_type, stream_type))
    links = []
    for mode, label in modes:
        if mode == stream_type:
            links.append(TEMPLATES['mode_current'].substitute(label=escape(label, True)))
        else:
            target = '/stream_viewer?' + encode_query(dict(shape, type=mode))
            links.append(TEMPLATES['mode_link'].substitute(href=escape(target, True), label=escape(label, True)))
    return ' | '.join(links)


def stream_viewer_page(topic, stream_type, params):
    """The viewer of ``/stream?<params>``: the live image at its real size, a switch between
    MJPEG and video, and the figures measured in the page (www/viewer.js).

    ``params`` is the decoded query (``topic`` included); ``stream_type`` the type it asks for.
    """
    shape = dict((key, value) for key, value in params.items() if key in SHAPE_PARAMS)
    stream_url = '/stream?' + encode_query(params)
    config = {'topic': topic, 'type': stream_type, 'video': stream_type in VIDEO_PLAYER_TYPES,
              'streamUrl': stream_url, 'mjpegUrl': '/stream?' + encode_query(dict(shape, type='mjpeg'))}
    still = config['mjpegUrl'] if config['video'] else stream_url
    return TEMPLATES['stream_viewer'].substitute(
        title=escape(topic, True), modes=_mode_switch(stream_type, params), still=escape(still, True),
        config=safe_json(config).decode('utf-8'))


def encode_query(params):
    """A query string of ``params`` (dict), percent-encoded, keys sorted for stable URLs."""
    return '&'.join('%s=%s' % (quote(key, safe=''), quote(value, safe='/'))
                    for key, value in sorted(params.items()))
