"""The two HTML pages: the topic list (/) and the live viewer (/stream_viewer).

Plain HTML with a few lines of script, no external assets. Every topic name is
HTML-escaped (web_video_server writes them raw into its pages).
"""
import json

from camera_server.compat import quote
from camera_server.http_protocol import CAMERA_INFO_TYPE, IMAGE_TYPE

try:
    from html import escape
except ImportError:  # Python 2.7
    from cgi import escape


def _topic_item(topic, label):
    ref = escape(quote(topic, safe='/~'), True)
    return ('<li><a href="/stream_viewer?topic=%s">%s</a> (<a href="/stream?topic=%s">Stream</a>)'
            ' (<a href="/snapshot?topic=%s">Snapshot</a>)</li>' % (ref, escape(label, True), ref, ref))


def topic_list_page(topic_types):
    """web_video_server's "ROS Image Topic List": image topics grouped under each camera_info prefix.

    ``topic_types`` maps topic names to message types.
    """
    images = sorted(t for t, kind in topic_types.items() if kind == IMAGE_TYPE)
    bases = sorted(t[:-len('camera_info')] for t, kind in topic_types.items()
                   if kind == CAMERA_INFO_TYPE and t.endswith('/camera_info'))
    html = ['<html><head><meta charset="utf-8"><title>ROS Image Topic List</title></head>'
            '<body><h1>Available ROS Image Topics:</h1><ul>']
    for base in bases:
        grouped = [t for t in images if t.startswith(base)]
        images = [t for t in images if not t.startswith(base)]
        html.append('<li>%s<ul>%s</ul></li>' % (escape(base, True), ''.join(
            _topic_item(t, t[len(base):]) for t in grouped)))
    html.append('</ul><ul>%s</ul></body></html>' % ''.join(_topic_item(t, t) for t in images))
    return ''.join(html)


# The viewer fetches the multipart stream itself so that it can count the frames it
# shows (an <img> fires no event per multipart frame); stream_viewer_page fills in the URL.
_VIEWER_SCRIPT = r"""
(function () {
  var img = document.getElementById('view'), info = document.getElementById('info');
  var url = %(stream_url)s, shown = 0, since = performance.now(), fps = 0, busy = false, next = null;
  function status(text) { info.textContent = text; }
  function render() {
    var frame = next; next = null; busy = true;
    var objectUrl = URL.createObjectURL(new Blob([frame.bytes], {type: frame.type}));
    img.onload = function () {
      URL.revokeObjectURL(objectUrl); busy = false; shown++;
      var now = performance.now();
      if (now - since >= 1000) { fps = shown * 1000 / (now - since); shown = 0; since = now; }
      status(img.naturalWidth + ' x ' + img.naturalHeight + ' px, ' + fps.toFixed(1) + ' fps');
      if (next) { render(); }
    };
    img.src = objectUrl;
  }
  function find(buf, from) {  // index of the blank line ending a part's headers
    for (var i = from; i + 3 < buf.length; i++) {
      if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) { return i; }
    }
    return -1;
  }
  var buf = new Uint8Array(0), decoder = new TextDecoder('latin1');
  function parse() {
    for (;;) {
      var end = find(buf, 0);
      if (end < 0) { return; }
      var head = decoder.decode(buf.subarray(0, end));
      var length = /Content-Length:\s*(\d+)/i.exec(head), start = end + 4;
      if (!length) { buf = buf.subarray(start); continue; }
      var size = parseInt(length[1], 10);
      if (buf.length < start + size) { return; }
      var type = (/Content-type:\s*([^\r\n;]+)/i.exec(head) || [0, 'image/jpeg'])[1];
      next = {bytes: buf.slice(start, start + size), type: type};
      buf = buf.subarray(start + size);
      if (!busy) { render(); }
    }
  }
  fetch(url).then(function (response) {
    if (!response.ok) {
      return response.text().then(function (text) { status(response.status + ': ' + text); });
    }
    var reader = response.body.getReader();
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) { status(info.textContent + ' (stream ended)'); return; }
        var joined = new Uint8Array(buf.length + chunk.value.length);
        joined.set(buf); joined.set(chunk.value, buf.length); buf = joined;
        parse();
        return pump();
      });
    }
    return pump();
  }).catch(function (error) { status('stream error: ' + error); });
})();
"""


def stream_viewer_page(topic, stream_query):
    """The viewer: the live image at its real size, the topic name, the measured fps and resolution.

    ``stream_query`` is the (already URL-encoded) query of the /stream request it shows.
    """
    stream_url = json.dumps('/stream?' + stream_query).replace('</', '<\\/')
    title = escape(topic, True)
    return ('<html><head><meta charset="utf-8"><title>%s</title>'
            '<style>body{font-family:sans-serif;margin:8px}#info{font:14px monospace;margin:4px 0}'
            '#view{display:block;max-width:none}</style></head>'
            '<body><h1>%s</h1><div id="info">connecting...</div><img id="view" alt="%s">'
            '<noscript><img src="%s"></noscript><script>%s</script></body></html>'
            % (title, title, title, escape('/stream?' + stream_query, True),
               _VIEWER_SCRIPT % {'stream_url': stream_url}))


def encode_query(params):
    """A query string of ``params`` (dict), percent-encoded, keys sorted for stable URLs."""
    return '&'.join('%s=%s' % (quote(key, safe=''), quote(value, safe='/'))
                    for key, value in sorted(params.items()))
