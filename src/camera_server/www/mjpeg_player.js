// The viewer's players for multipart streams (mjpeg, png, ros_compressed), also its fallback for
// video.
// - playMultipart reads the body with fetch() (an <img> fires no event per part) and paints each
//   part as a blob, so that it can count frames and read each part's X-Timestamp. The newest part
//   wins: parts that arrive while one is still being decoded are dropped. It asks for the parts as
//   multipart/mixed (the same bytes): WebKit lets no script read multipart/x-mixed-replace.
// - playImage, where a script cannot read the stream (no stream reader, or the request fails
//   before the first frame), shows it in an <img> that reads it itself: a live picture and its
//   size, but neither frame rate nor latency.
function playMultipart(viewer, url) {
  'use strict';
  if (!(window.ReadableStream && window.Response && 'body' in Response.prototype)) {
    return showInImage(viewer, url, 'this browser cannot read a stream in a script');
  }
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
  viewer.readStream({url: url, accept: 'multipart/mixed', onChunk: function (chunk) {
    buffer = streamParsers.join(buffer, chunk);
    var parsed = split(buffer);
    buffer = buffer.subarray(parsed[1]);
    parsed[0].forEach(function (part) { viewer.frameReceived(part.stamp); next = part; });
    if (next && !busy) { render(); }
  }, onBroken: function (reason) { showInImage(viewer, url, 'reading it in a script failed: ' + reason); }});
}

function showInImage(viewer, url, why) {
  'use strict';
  viewer.tell('Showing the stream in an image without frame rate and latency: ' + why + '.');
  viewer.run(playImage, url);
}

function playImage(viewer, url) {
  'use strict';
  var img = document.createElement('img');
  img.id = 'view'; img.alt = viewer.config.topic;
  viewer.withoutFrames();
  img.onload = function () { viewer.stats.width = img.naturalWidth; viewer.stats.height = img.naturalHeight; };
  img.onerror = function () { viewer.fail('the image of the stream could not be shown'); };
  viewer.onEnd(function () { img.onerror = null; img.removeAttribute('src'); });  // closes the stream
  img.src = url;
  viewer.screen.appendChild(img);
}
