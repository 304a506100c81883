"""The live viewer's page script (JavaScript, no external assets), served inline by viewer.py.

``cameraViewer(config)`` plays one /stream URL and shows its figures, measured in the page:
- mjpeg/png: it reads the multipart body with fetch() (an <img> fires no event per part)
  and paints each part as a blob, so it can count frames and read each part's X-Timestamp.
- h264/vp8/vp9: Media Source Extensions. The fragmented MP4 or WebM body is appended to a
  SourceBuffer as it arrives (the MP4 codec string comes from the avcC record of the init
  segment). The page stays at the live edge: when the playhead is more than a few frames
  behind the newest buffered frame it jumps there, and old frames are removed from the buffer.
  A browser without MSE or without the codec, or a server that refuses the type, gets the
  MJPEG stream of the same topic instead, with a line saying why.
Latency is the server's wall clock when the frame is shown minus the frame's capture stamp
(the media time of a video frame, X-Timestamp of a part); the clock offset comes from the
"time" field of /health, taken at the midpoint of its fastest of a few round trips.
Everything is also in ``window.viewerStats`` for scripts and tests.
"""

VIEWER_SCRIPT = r"""
function cameraViewer(config) {
  'use strict';
  var LATENCY_FRAMES = 100;  // frames the latency figures are taken over
  var BEHIND_FRAMES = 3;  // frames behind the newest one that make the video jump ahead
  var KEEP_S = 10;  // seconds of played video kept in the SourceBuffer
  var screen = document.getElementById('screen'), info = document.getElementById('info');
  var note = document.getElementById('note');
  var stats = window.viewerStats = {mode: config.type, width: 0, height: 0, fps: 0, kbps: 0,
    frames: 0, bytes: 0, latencyMs: null, latencyP95Ms: null, jumps: 0, mime: '', note: '', ended: ''};
  var latencies = [], clockOffset = null, counted = {at: now(), frames: 0, bytes: 0};

  function now() { return performance.now(); }
  function wallClock(at) { return (performance.timeOrigin + at) / 1000; }  // s since the epoch
  function tell(text) { note.textContent = stats.note = text; }

  // Server clock minus ours, from the fastest of five /health round trips; again every 30 s.
  function syncClock() {
    var best = null, rounds = 0;
    function round() {
      var sent = now();
      return fetch('/health', {cache: 'no-store'}).then(function (reply) { return reply.json(); })
        .then(function (health) {
          var back = now();
          if (typeof health.time === 'number' && (!best || back - sent < best.trip)) {
            best = {trip: back - sent, offset: health.time - wallClock((sent + back) / 2)};
          }
          if (++rounds < 5) { return round(); }
          if (best) { clockOffset = best.offset; }
        });
    }
    round().catch(function () {}).then(function () { setTimeout(syncClock, 30000); });
  }

  function frameShown(stamp, at) {  // a frame captured at ``stamp`` (s) is on screen at ``at``
    stats.frames++;
    if (clockOffset === null || !(stamp > 0)) { return; }
    latencies.push((wallClock(at) + clockOffset - stamp) * 1000);
    if (latencies.length > LATENCY_FRAMES) { latencies.shift(); }
  }

  function percentile(sorted, p) { return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]; }

  function report() {
    var at = now(), seconds = (at - counted.at) / 1000;
    stats.fps = (stats.frames - counted.frames) / seconds;
    stats.kbps = (stats.bytes - counted.bytes) * 8 / 1000 / seconds;
    counted = {at: at, frames: stats.frames, bytes: stats.bytes};
    var sorted = latencies.slice().sort(function (a, b) { return a - b; });
    stats.latencyMs = sorted.length ? percentile(sorted, 0.5) : null;
    stats.latencyP95Ms = sorted.length ? percentile(sorted, 0.95) : null;
    var text = stats.width + ' x ' + stats.height + ' px, ' + stats.fps.toFixed(1) + ' fps, '
      + Math.round(stats.kbps) + ' kbit/s, latency ';
    text += stats.latencyMs === null ? (clockOffset === null ? 'unknown (no server clock)' : '...')
      : Math.round(stats.latencyMs) + ' ms (p95 ' + Math.round(stats.latencyP95Ms) + ' ms)';
    info.textContent = text + (stats.ended ? ' (' + stats.ended + ')' : '');
  }

  // GET ``url`` and hand each received chunk to onChunk; onRefused(status, text) for a non-2xx
  // reply. onHead(response) may return a reason to refuse the body. Returns a function that aborts.
  function readStream(url, onHead, onChunk, onRefused) {
    var abort = window.AbortController ? new AbortController() : null, stopped = false;
    fetch(url, {cache: 'no-store', signal: abort ? abort.signal : undefined}).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (text) { onRefused(response.status, text.trim()); });
      }
      var refusal = onHead(response);
      if (refusal) { return onRefused(response.status, refusal); }
      var reader = response.body.getReader();
      function pump() {
        return reader.read().then(function (chunk) {
          if (stopped) { return; }
          if (chunk.done) { stats.ended = 'stream ended'; return; }
          stats.bytes += chunk.value.length;
          onChunk(chunk.value);
          return pump();
        });
      }
      return pump();
    }).catch(function (error) { if (!stopped) { stats.ended = 'stream error: ' + error; } });
    return function () { stopped = true; if (abort) { abort.abort(); } };
  }

  function join(a, b) {
    var joined = new Uint8Array(a.length + b.length);
    joined.set(a); joined.set(b, a.length);
    return joined;
  }

  function playMultipart(url) {
    var img = document.createElement('img'), busy = false, next = null;
    var buf = new Uint8Array(0), latin1 = new TextDecoder('latin1');
    img.id = 'view'; img.alt = config.topic;
    screen.appendChild(img);
    function render() {
      var frame = next; next = null; busy = true;
      var objectUrl = URL.createObjectURL(new Blob([frame.bytes], {type: frame.type}));
      img.onload = function () {
        URL.revokeObjectURL(objectUrl); busy = false;
        stats.width = img.naturalWidth; stats.height = img.naturalHeight;
        frameShown(frame.stamp, now());
        if (next) { render(); }
      };
      img.src = objectUrl;
    }
    function headEnd(from) {  // index of the blank line ending a part's headers
      for (var i = from; i + 3 < buf.length; i++) {
        if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) { return i; }
      }
      return -1;
    }
    function parse() {
      for (;;) {
        var end = headEnd(0);
        if (end < 0) { return; }
        var head = latin1.decode(buf.subarray(0, end));
        var length = /Content-Length:\s*(\d+)/i.exec(head), start = end + 4;
        if (!length) { buf = buf.subarray(start); continue; }
        var size = parseInt(length[1], 10);
        if (buf.length < start + size) { return; }
        var type = (/Content-type:\s*([^\r\n;]+)/i.exec(head) || [0, 'image/jpeg'])[1];
        var stamp = parseFloat((/X-Timestamp:\s*([\d.]+)/i.exec(head) || [0, 'NaN'])[1]);
        next = {bytes: buf.slice(start, start + size), type: type, stamp: stamp};
        buf = buf.subarray(start + size);
        if (!busy) { render(); }
      }
    }
    readStream(url, function () { return null; },
      function (chunk) { buf = join(buf, chunk); parse(); },
      function (status, text) { stats.ended = status + ': ' + text; });
  }

  // The MSE type of a fragmented MP4 from its first bytes: undefined until ftyp + moov are all
  // there, null when the moov has no avcC (not H.264).
  function mp4Type(bytes) {
    var at = 0;
    while (at + 8 <= bytes.length) {
      var size = ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
      var kind = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
      if (size < 8 || at + size > bytes.length) { return bytes.length > (1 << 20) ? null : undefined; }
      if (kind === 'moov') {
        for (var i = at + 8; i + 8 <= at + size; i++) {
          if (bytes[i] === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 && bytes[i + 3] === 0x43) {
            var hex = '';
            for (var k = 5; k <= 7; k++) { hex += (bytes[i + k] < 16 ? '0' : '') + bytes[i + k].toString(16); }
            return 'video/mp4; codecs="avc1.' + hex.toUpperCase() + '"';
          }
        }
        return null;
      }
      at += size;
    }
    return undefined;
  }

  function fallBack(reason) {
    tell(reason + ': showing MJPEG instead.');
    stats.mode = 'mjpeg';
    stats.ended = '';
    screen.textContent = '';
    playMultipart(config.mjpegUrl);
  }

  function playVideo(url) {
    var webm = config.type !== 'h264';
    var probe = webm ? 'video/webm; codecs="' + config.type + '"' : 'video/mp4; codecs="avc1.42E01E"';
    if (!window.MediaSource) { return fallBack('This browser has no Media Source Extensions for ' + config.type); }
    if (!MediaSource.isTypeSupported(probe)) { return fallBack('This browser cannot play ' + probe); }
    var video = document.createElement('video'), mediaSource = null, sourceBuffer = null;
    var mime = webm ? probe : null, head = new Uint8Array(0), pending = [], stop = null;
    video.id = 'view'; video.muted = true; video.autoplay = true; video.playsInline = true;
    screen.appendChild(video);

    function behindLimit() { return BEHIND_FRAMES / (stats.fps > 1 ? stats.fps : 30); }
    function keepLive() {  // jump to the newest frame when too far behind, drop what was played
      var ranges = video.buffered;
      if (!ranges.length) { return; }
      var start = ranges.start(ranges.length - 1), end = ranges.end(ranges.length - 1);
      if (video.currentTime < start || end - video.currentTime > behindLimit()) {
        video.currentTime = Math.max(start, end - 0.5 / (stats.fps > 1 ? stats.fps : 30));
        stats.jumps++;
      }
      if (video.paused) { video.play().catch(function () {}); }
      if (!sourceBuffer.updating && video.currentTime - ranges.start(0) > 2 * KEEP_S) {
        sourceBuffer.remove(ranges.start(0), video.currentTime - KEEP_S);
      }
    }
    function feed() {
      if (!sourceBuffer || sourceBuffer.updating || !pending.length) { return; }
      var bytes = pending.length === 1 ? pending[0] : pending.reduce(join);
      pending = [];
      try {
        sourceBuffer.appendBuffer(bytes);
      } catch (error) {
        stop();
        fallBack('This browser failed to take the ' + config.type + ' stream (' + error.name + ')');
      }
    }
    function open() {
      stats.mime = mime;
      mediaSource = new MediaSource();
      mediaSource.addEventListener('sourceopen', function () {
        URL.revokeObjectURL(video.src);
        mediaSource.duration = Infinity;  // live: no end
        sourceBuffer = mediaSource.addSourceBuffer(mime);
        sourceBuffer.addEventListener('updateend', function () { keepLive(); feed(); });
        feed();
      });
      video.src = URL.createObjectURL(mediaSource);
    }
    video.addEventListener('error', function () {
      stop();
      fallBack('This browser could not decode the ' + config.type + ' stream ('
               + (video.error ? video.error.message || video.error.code : 'error') + ')');
    });
    video.addEventListener('resize', function () { stats.width = video.videoWidth; stats.height = video.videoHeight; });
    if (video.requestVideoFrameCallback) {
      var presented = 0;
      var onFrame = function (time, frame) {
        // presentedFrames counts frames shown between two callbacks too.
        stats.frames += Math.max(0, frame.presentedFrames - presented - 1);
        presented = frame.presentedFrames;
        stats.width = frame.width; stats.height = frame.height;
        frameShown(frame.mediaTime, frame.expectedDisplayTime);
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    } else {  // older browsers: count decoded frames and read the playhead every 50 ms
      var decoded = 0;
      setInterval(function () {
        var total = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
        for (; decoded < total; decoded++) { frameShown(video.currentTime, now()); }
      }, 50);
    }

    stop = readStream(url, function (response) {
      var type = response.headers.get('Content-Type') || '';
      return type.indexOf(webm ? 'video/webm' : 'video/mp4') === 0 ? null : 'unexpected Content-Type ' + type;
    }, function (chunk) {
      if (!mime) {
        head = join(head, chunk);
        mime = mp4Type(head);
        if (mime === undefined) { return; }
        if (mime === null) { stop(); return fallBack('The stream carries no H.264 configuration (avcC)'); }
        if (!MediaSource.isTypeSupported(mime)) { stop(); return fallBack('This browser cannot play ' + mime); }
        chunk = head;
        open();
      } else if (!mediaSource) {
        open();
      }
      pending.push(chunk);
      feed();
    }, function (status, text) {
      fallBack('The server cannot send ' + config.type + ' (' + status + ': ' + text + ')');
    });
  }

  syncClock();
  setInterval(report, 1000);
  if (config.video) { playVideo(config.streamUrl); } else { playMultipart(config.streamUrl); }
}
"""
