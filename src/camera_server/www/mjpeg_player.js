// The viewer's player for multipart streams (mjpeg, png, ros_compressed), and its fallback for
// video: it reads the body with fetch() (an <img> fires no event per part) and paints each part
// as a blob, so that it can count frames and read each part's X-Timestamp. The newest part
// wins: parts that arrive while one is still being decoded are dropped.
function playMultipart(viewer, url) {
  'use strict';
  var img = document.createElement('img'), busy = false, next = null;
  var split = streamParsers.multipartParts(), buffer = new Uint8Array(0);
  img.id = 'view'; img.alt = viewer.config.topic;
  viewer.screen.appendChild(img);
  function render() {
    var frame = next; next = null; busy = true;
    var objectUrl = URL.createObjectURL(new Blob([frame.bytes], {type: frame.type}));
    img.onload = function () {
      URL.revokeObjectURL(objectUrl); busy = false;
      viewer.stats.width = img.naturalWidth; viewer.stats.height = img.naturalHeight;
      viewer.frameShown(frame.stamp, viewer.now());
      if (next) { render(); }
    };
    img.src = objectUrl;
  }
  viewer.readStream(url, function () { return null; }, function (chunk) {
    buffer = streamParsers.join(buffer, chunk);
    var parsed = split(buffer);
    buffer = buffer.subarray(parsed[1]);
    parsed[0].forEach(function (part) { viewer.frameReceived(part.stamp); next = part; });
    if (next && !busy) { render(); }
  }, function (status, text) { viewer.retry(status + ': ' + text); });
}
