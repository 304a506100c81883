"""The two HTML pages: the topic list (/) and the live viewer (/stream_viewer).

Plain HTML, no external assets; the viewer's script is in viewer_script.py. Every topic
name is HTML-escaped, and JSON-escaped in the script (web_video_server writes them raw).
"""
import json

from camera_server.compat import html_escape as escape, quote
from camera_server.messages import CAMERA_INFO_TYPE, IMAGE_TYPE
from camera_server.viewer_script import VIEWER_SCRIPT


# Thumbnails on the topic list: small server-side encodes of the camera's JPEG (or raw image).
THUMBNAIL_QUERY = {'width': '240', 'quality': '75', 'default_transport': 'compressed'}
# Browsers open at most 6 connections to one server; live thumbnails beyond these would leave
# none for the page's /health requests or a click, so later topics show a snapshot.
MAX_LIVE_THUMBNAILS = 4

# Fills each thumbnail's caption with its topic's resolution and rate from /health, every second.
_TOPIC_LIST_SCRIPT = r"""
(function () {
  var captions = document.querySelectorAll('.figures');
  function show(topics) {
    for (var i = 0; i < captions.length; i++) {
      var topic = captions[i].getAttribute('data-topic'), found = null;
      for (var j = 0; j < topics.length; j++) {
        if (topics[j].topic === topic || topics[j].topic === topic + '/compressed') { found = topics[j]; }
      }
      captions[i].textContent = found && found.width ?
        found.width + ' x ' + found.height + ', ' + found.input_fps.toFixed(1) + ' fps' : 'no image yet';
    }
  }
  function poll() {
    fetch('/health').then(function (r) { return r.ok ? r.json() : {topics: []}; })
      .then(function (health) { show(health.topics || []); }, function () {})
      .then(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
"""


def _topic_item(topic, label, live):
    """One entry: web_video_server's three links, then (not a link) the camera's thumbnail and figures."""
    ref = escape(quote(topic, safe='/~'), True)
    name = escape(topic, True)
    thumbnail = ('/stream?' if live else '/snapshot?') + encode_query(dict(THUMBNAIL_QUERY, topic=topic))
    return ('<li><a href="/stream_viewer?topic=%s">%s</a> (<a href="/stream?topic=%s">Stream</a>)'
            ' (<a href="/snapshot?topic=%s">Snapshot</a>)<div class="camera"><img class="thumb" src="%s"'
            ' alt="%s"><div class="caption"><span class="name">%s</span> <span class="figures" data-topic="%s">'
            '</span>%s</div></div></li>'
            % (ref, escape(label, True), ref, ref, escape(thumbnail, True), name, name, name,
               '' if live else ' (still: open the viewer for live video)'))


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
    html = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>ROS Image Topic List</title>'
            '<style>body{font-family:sans-serif;margin:8px}.camera{margin:4px 0 12px}'
            '.thumb{display:block;width:240px;min-height:135px;background:#333}'
            '.caption{font:13px monospace}</style></head>'
            '<body><h1>Available ROS Image Topics:</h1><ul>']
    for base, topics in groups[:-1]:
        html.append('<li>%s<ul>%s</ul></li>' % (escape(base, True), ''.join(
            item(t, t[len(base):]) for t in topics)))
    html.append('</ul><ul>%s</ul><script>%s</script></body></html>' % (
        ''.join(item(t, t) for t in groups[-1][1]), _TOPIC_LIST_SCRIPT))
    return ''.join(html)


# The stream types the viewer's switch offers, with their labels; a png or ros_compressed
# viewer shows its own type as the current one.
VIEWER_MODES = (('mjpeg', 'MJPEG'), ('h264', 'H.264 video'), ('vp8', 'VP8 video'))
VIDEO_PLAYER_TYPES = ('h264', 'vp8', 'vp9')  # played through Media Source Extensions
# Query parameters that mean the same for every type: the switch and the MJPEG fallback keep them.
SHAPE_PARAMS = ('topic', 'width', 'height', 'invert', 'default_transport')


def _script_json(value):
    """``value`` as a JavaScript literal that cannot end the <script> element or open a comment."""
    return json.dumps(value, sort_keys=True).replace('<', '\\u003c').replace('>', '\\u003e').replace(
        '&', '\\u0026')


def _mode_switch(stream_type, params):
    shape = dict((key, value) for key, value in params.items() if key in SHAPE_PARAMS)
    links = []
    for mode, label in VIEWER_MODES:
        if mode == stream_type:
            links.append('<strong>%s</strong>' % label)
        else:
            target = '/stream_viewer?' + encode_query(dict(shape, type=mode))
            links.append('<a href="%s">%s</a>' % (escape(target, True), label))
    if stream_type not in dict(VIEWER_MODES):
        links.insert(0, '<strong>%s</strong>' % escape(stream_type, True))
    return '<p id="modes">View as: %s</p>' % ' | '.join(links)


def stream_viewer_page(topic, stream_type, params):
    """The viewer of ``/stream?<params>``: the live image at its real size, a switch between
    MJPEG and video, and the figures measured in the page (viewer_script.py).

    ``params`` is the decoded query (``topic`` included); ``stream_type`` the type it asks for.
    """
    shape = dict((key, value) for key, value in params.items() if key in SHAPE_PARAMS)
    stream_url = '/stream?' + encode_query(params)
    config = {'topic': topic, 'type': stream_type, 'video': stream_type in VIDEO_PLAYER_TYPES,
              'streamUrl': stream_url, 'mjpegUrl': '/stream?' + encode_query(dict(shape, type='mjpeg'))}
    title = escape(topic, True)
    still = config['mjpegUrl'] if config['video'] else stream_url
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title>'
            '<style>body{font-family:sans-serif;margin:8px}#info,#note{font:14px monospace;margin:4px 0}'
            '#view{display:block;max-width:none}</style></head>'
            '<body><h1>%s</h1>%s<div id="info">connecting...</div><div id="note"></div>'
            '<div id="screen"><noscript><img src="%s" alt="%s"></noscript></div>'
            '<script>%scameraViewer(%s);</script></body></html>'
            % (title, title, _mode_switch(stream_type, params), escape(still, True), title,
               VIEWER_SCRIPT, _script_json(config)))


def encode_query(params):
    """A query string of ``params`` (dict), percent-encoded, keys sorted for stable URLs."""
    return '&'.join('%s=%s' % (quote(key, safe=''), quote(value, safe='/'))
                    for key, value in sorted(params.items()))
