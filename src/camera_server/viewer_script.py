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
  var CATCH_UP_RATE = 2;  // playback rate while the video is a little behind
  var JUMP_INTERVAL_MS = 3000;  // the least time between two jumps
  var FPS_WINDOW = 2;  // reports (s) the fps and bitrate figures are taken over
  var RETRY_MS = 2000;  // wait before a stream that ended or failed is asked for again
  var KEEP_S = 10;  // seconds of played video kept in the SourceBuffer
  var screen = document.getElementById('screen'), info = document.getElementById('info');
  var note = document.getElementById('note');
  var stats = window.viewerStats = {mode: config.type, width: 0, height: 0, fps: 0, kbps: 0,
    frames: 0, bytes: 0, stamp: null, latencyMs: null, latencyP95Ms: null, receivedMs: null,
    receivedP95Ms: null, jumps: 0, mime: '', note: '', ended: ''};
  // Capture to screen, and capture to arrival in the page (the server's and the network's
  // part), in ms over the last LATENCY_FRAMES frames.
  var latencies = [], arrivals = [], clockOffset = null, counted = [{at: now(), frames: 0, bytes: 0}];

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

  function age(list, stamp, at) {  // notes the age of a frame captured at ``stamp`` (s) at ``at``
    if (clockOffset === null || !(stamp > 0)) { return; }
    list.push((wallClock(at) + clockOffset - stamp) * 1000);
    if (list.length > LATENCY_FRAMES) { list.shift(); }
  }
  function frameShown(stamp, at) { stats.frames++; age(latencies, stamp, at); }
  function frameReceived(stamp) { age(arrivals, stamp, now()); }

  function percentile(sorted, p) { return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]; }

  function report() {
    var at = now(), since = counted[0], seconds = (at - since.at) / 1000;
    stats.fps = (stats.frames - since.frames) / seconds;
    stats.kbps = (stats.bytes - since.bytes) * 8 / 1000 / seconds;
    counted.push({at: at, frames: stats.frames, bytes: stats.bytes});
    if (counted.length > FPS_WINDOW) { counted.shift(); }
    var sorted = latencies.slice().sort(function (a, b) { return a - b; });
    var received = arrivals.slice().sort(function (a, b) { return a - b; });
    stats.latencyMs = sorted.length ? percentile(sorted, 0.5) : null;
    stats.latencyP95Ms = sorted.length ? percentile(sorted, 0.95) : null;
    stats.receivedMs = received.length ? percentile(received, 0.5) : null;
    stats.receivedP95Ms = received.length ? percentile(received, 0.95) : null;
    var text = stats.width + ' x ' + stats.height + ' px, ' + stats.fps.toFixed(1) + ' fps, '
      + Math.round(stats.kbps) + ' kbit/s, latency ';
    text += stats.latencyMs === null ? (clockOffset === null ? 'unknown (no server clock)' : '...')
      : Math.round(stats.latencyMs) + ' ms (p95 ' + Math.round(stats.latencyP95Ms) + ' ms; received after '
        + Math.round(stats.receivedMs) + ' ms)';
    info.textContent = text + (stats.ended ? ' (' + stats.ended + ')' : '');
  }

  // The player now running: its play function and URL, and what ends it (timers, streams).
  var current = null;
  function run(play, url) {
    if (current) { current.ends.forEach(function (end) { end(); }); }
    screen.textContent = '';
    current = {play: play, url: url, ends: []};
    play(url);
  }
  function onEnd(end) { current.ends.push(end); }
  function every(action, ms) { var id = setInterval(action, ms); onEnd(function () { clearInterval(id); }); }
  function retry(reason) {  // the stream ended or failed: the same player again in RETRY_MS
    var player = current;
    stats.ended = reason + '; reconnecting';
    setTimeout(function () { if (current === player) { run(player.play, player.url); } }, RETRY_MS);
  }

  // GET ``url`` and hand each received chunk to onChunk; onRefused(status, text) for a non-2xx
  // reply. onHead(response) may return a reason to refuse the body. A body that ends or breaks
  // is asked for again (retry). Returns a function that aborts.
  function readStream(url, onHead, onChunk, onRefused) {
    var abort = window.AbortController ? new AbortController() : null, stopped = false;
    function stop() { stopped = true; if (abort) { abort.abort(); } }
    onEnd(stop);
    fetch(url, {cache: 'no-store', signal: abort ? abort.signal : undefined}).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (text) { if (!stopped) { onRefused(response.status, text.trim()); } });
      }
      var refusal = onHead(response);
      if (refusal) { return onRefused(response.status, refusal); }
      stats.ended = '';
      var reader = response.body.getReader();
      function pump() {
        return reader.read().then(function (chunk) {
          if (stopped) { return; }
          if (chunk.done) { return retry('stream ended'); }
          stats.bytes += chunk.value.length;
          onChunk(chunk.value);
          return pump();
        });
      }
      return pump();
    }).catch(function (error) { if (!stopped) { retry('stream error: ' + error); } });
    return stop;
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
        frameReceived(stamp);
        buf = buf.subarray(start + size);
        if (!busy) { render(); }
      }
    }
    readStream(url, function () { return null; },
      function (chunk) { buf = join(buf, chunk); parse(); },
      function (status, text) { retry(status + ': ' + text); });
  }

  function readUint(bytes, at, length) {  // big-endian; a double holds the 64-bit MP4 times exactly
    var value = 0;
    for (var i = 0; i < length; i++) { value = value * 256 + bytes[at + i]; }
    return value;
  }

  function fourcc(bytes, at) {
    return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
  }

  function childBox(bytes, from, to, kind) {  // offset of the first box ``kind`` in [from, to), or -1
    for (var at = from; at + 8 <= to;) {
      var size = readUint(bytes, at, 4);
      if (size < 8) { return -1; }
      if (fourcc(bytes, at + 4) === kind) { return at; }
      at += size;
    }
    return -1;
  }

  function boxIn(bytes, path) {  // offset of the box at ``path`` (kinds, outermost first) in a box, or -1
    var at = 0;
    for (var i = 0; i < path.length && at >= 0; i++) {
      at = childBox(bytes, at + 8, at + readUint(bytes, at, 4), path[i]);
    }
    return at;
  }

  // The video body in units the page can time: init data (ftyp, moov / the WebM head) and
  // frames (moof + mdat / one Cluster) with their capture stamp and duration in seconds.
  // A parser takes the bytes received so far and returns [units, bytes used].
  function mp4Units() {
    var timescale = 90000, moof = null;
    return function (bytes) {
      var units = [], at = 0;
      while (at + 8 <= bytes.length) {
        var size = readUint(bytes, at, 4), kind = fourcc(bytes, at + 4);
        if (size < 8) { throw new Error('bad MP4 box size ' + size); }
        if (at + size > bytes.length) { break; }
        var box = bytes.slice(at, at + size);
        at += size;
        if (kind === 'moof') { moof = box; continue; }
        if (kind === 'mdat' && moof) { units.push(mp4Frame(moof, box, timescale)); moof = null; continue; }
        var unit = {bytes: box};
        if (kind === 'moov') {
          var mdhd = boxIn(box, ['trak', 'mdia', 'mdhd']), avcc = avcConfig(box);
          if (mdhd >= 0) { timescale = readUint(box, mdhd + (box[mdhd + 8] === 1 ? 28 : 20), 4); }
          unit.mime = avcc < 0 ? null : 'video/mp4; codecs="avc1.' + hex(box.subarray(avcc + 9, avcc + 12)) + '"';
        }
        units.push(unit);
      }
      return [units, at];
    };
  }

  function avcConfig(moov) {  // offset of the avcC box in a moov, or -1
    var avc1 = boxIn(moov, ['trak', 'mdia', 'minf', 'stbl', 'stsd']);
    if (avc1 < 0) { return -1; }
    avc1 += 16;  // stsd: header, version and flags, entry count
    if (fourcc(moov, avc1 + 4) !== 'avc1') { return -1; }
    // avc1 (a VisualSampleEntry): 78 bytes of fields after its header, then its boxes.
    return childBox(moov, avc1 + 86, avc1 + readUint(moov, avc1, 4), 'avcC');
  }

  function hex(bytes) {
    var text = '';
    for (var i = 0; i < bytes.length; i++) { text += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16); }
    return text.toUpperCase();
  }

  function mp4Frame(moof, mdat, timescale) {
    var traf = boxIn(moof, ['traf']), tfdt = childBox(moof, traf + 8, traf + readUint(moof, traf, 4), 'tfdt');
    var trun = childBox(moof, traf + 8, traf + readUint(moof, traf, 4), 'trun');
    var tfhd = childBox(moof, traf + 8, traf + readUint(moof, traf, 4), 'tfhd');
    var time = moof[tfdt + 8] === 1 ? readUint(moof, tfdt + 12, 8) : readUint(moof, tfdt + 12, 4);
    var flags = readUint(moof, trun + 9, 3), at = -1;
    if (flags & 0x100) {  // the first sample's duration is in the trun
      at = trun + 16 + (flags & 1 ? 4 : 0) + (flags & 4 ? 4 : 0);
    } else if (tfhd >= 0 && readUint(moof, tfhd + 9, 3) & 8) {  // or the fragment's default
      flags = readUint(moof, tfhd + 9, 3);
      at = tfhd + 16 + (flags & 1 ? 8 : 0) + (flags & 2 ? 4 : 0);
    }
    var frame = {bytes: join(moof, mdat), stamp: time / timescale,
                 duration: at < 0 ? 1 / 30 : readUint(moof, at, 4) / timescale};
    frame.lengthen = function (seconds) {
      if (at < 0) { return; }
      var ticks = Math.round(seconds * timescale);
      for (var i = 3; i >= 0; i--) { frame.bytes[at + i] = ticks & 0xFF; ticks = Math.floor(ticks / 256); }
      frame.duration = seconds;
    };
    return frame;
  }

  // WebM: EBML elements; the Segment (its size unknown on a live stream) is entered, not skipped.
  var SEGMENT = 0x18538067, CLUSTER = 0x1F43B675, INFO = 0x1549A966, TIMECODE_SCALE = 0x2AD7B1;
  var TIMECODE = 0xE7, SIMPLE_BLOCK = 0xA3, WEBM_FRAME_S = 0.063;  // Chromium's guess for a lone SimpleBlock

  function ebmlElement(id, body) {  // ``id``: its bytes; the size as an 8-byte number
    var head = new Uint8Array(id.length + 8), size = body.length;
    head.set(id);
    head[id.length] = 1;
    for (var i = 7; i > 0; i--) { head[id.length + i] = size & 0xFF; size = Math.floor(size / 256); }
    return join(head, body);
  }

  function ebmlInt(value, length) {  // two's complement, big-endian
    var bytes = new Uint8Array(length);
    for (var i = length - 1; i >= 0; i--) { bytes[i] = value & 0xFF; value = Math.floor(value / 256); }
    return bytes;
  }

  // A Cluster holding one SimpleBlock, rewritten with a BlockGroup that has a BlockDuration
  // (and a ReferenceBlock unless the frame is a keyframe): a SimpleBlock has no duration.
  function webmFrame(cluster, timecode, block, stamp, scale) {
    var frame = {bytes: cluster, stamp: stamp, duration: WEBM_FRAME_S};
    frame.lengthen = function (seconds) {
      var data = cluster.slice(block[0], block[0] + block[1]), track = ebmlNumber(data, 0, false)[1];
      var keyframe = data[track + 2] & 0x80, units = Math.round(seconds / scale);
      data[track + 2] &= 0x0F;  // a Block's flags: lacing and invisible only
      var group = join(ebmlElement([0xA1], data), ebmlElement([0x9B], ebmlInt(units, 4)));
      if (!keyframe) { group = join(group, ebmlElement([0xFB], ebmlInt(-units, 4))); }
      frame.bytes = ebmlElement([0x1F, 0x43, 0xB6, 0x75], join(cluster.subarray(timecode[0] - 1 - timecode[2],
        timecode[0] + timecode[1]), ebmlElement([0xA0], group)));
      frame.duration = seconds;
    };
    return frame;
  }

  function ebmlNumber(bytes, at, isId) {  // [value, length], value -1 for an unknown size; null if incomplete
    if (at >= bytes.length) { return null; }
    var length = 1;
    while (length <= 8 && !(bytes[at] & (0x80 >> (length - 1)))) { length++; }
    if (length > 8) { throw new Error('bad EBML number at byte ' + at); }
    if (at + length > bytes.length) { return null; }
    var value = isId ? bytes[at] : bytes[at] & (0xFF >> length), ones = value === (0xFF >> length);
    for (var i = 1; i < length; i++) { value = value * 256 + bytes[at + i]; ones = ones && bytes[at + i] === 0xFF; }
    return [!isId && ones ? -1 : value, length];
  }

  // [value offset, value size, size length] of child ``id`` in [from, to), or null
  function ebmlChild(bytes, from, to, id) {
    for (var at = from; at < to;) {
      var head = ebmlNumber(bytes, at, true), size = head && ebmlNumber(bytes, at + head[1], false);
      if (!size || size[0] < 0) { return null; }
      var body = at + head[1] + size[1];
      if (head[0] === id) { return [body, size[0], size[1]]; }
      at = body + size[0];
    }
    return null;
  }

  function webmUnits() {
    var scale = 0.001, raw = false;  // s per timecode unit (TimecodeScale, 1 ms by default)
    return function (bytes) {
      if (raw) { return [[{bytes: bytes.slice()}], bytes.length]; }
      var units = [], at = 0;
      for (;;) {
        var head = ebmlNumber(bytes, at, true), size = head && ebmlNumber(bytes, at + head[1], false);
        if (!size) { break; }
        var body = at + head[1] + size[1];
        if (head[0] === SEGMENT) { units.push({bytes: bytes.slice(at, body)}); at = body; continue; }
        if (size[0] < 0) {  // an element of unknown size other than the Segment: no more splitting
          raw = true;
          units.push({bytes: bytes.slice(at)});
          return [units, bytes.length];
        }
        if (body + size[0] > bytes.length) { break; }
        var element = bytes.slice(at, body + size[0]), inner = body - at;
        at = body + size[0];
        if (head[0] === INFO) {
          var found = ebmlChild(element, inner, element.length, TIMECODE_SCALE);
          if (found) { scale = readUint(element, found[0], found[1]) / 1e9; }
        } else if (head[0] === CLUSTER) {
          var timecode = ebmlChild(element, inner, element.length, TIMECODE);
          var block = ebmlChild(element, inner, element.length, SIMPLE_BLOCK);
          if (timecode && block) {
            units.push(webmFrame(element, timecode, block,
                                 readUint(element, timecode[0], timecode[1]) * scale, scale));
            continue;
          }
        }
        units.push({bytes: element});
      }
      return [units, at];
    };
  }

  function fallBack(reason) {
    tell(reason + ': showing MJPEG instead.');
    stats.mode = 'mjpeg';
    stats.ended = '';
    run(playMultipart, config.mjpegUrl);
  }

  function playVideo(url) {
    var webm = config.type !== 'h264';
    var probe = webm ? 'video/webm; codecs="' + config.type + '"' : 'video/mp4; codecs="avc1.42E01E"';
    if (!window.MediaSource) { return fallBack('This browser has no Media Source Extensions for ' + config.type); }
    if (!MediaSource.isTypeSupported(probe)) { return fallBack('This browser cannot play ' + probe); }
    var video = document.createElement('video'), mediaSource = null, sourceBuffer = null, stop = null;
    var split = webm ? webmUnits() : mp4Units(), received = new Uint8Array(0), queue = [], failed = false;
    // The media timeline: a frame is placed at its capture stamp + shift. The shift changes when
    // the next stamp is more than 1.9 frame durations after the last one or before it: MSE
    // takes such a gap for a discontinuity and drops every frame up to the next keyframe.
    // shifts maps media times back to capture stamps.
    var shift = 0, last = null, shifts = [{from: -Infinity, shift: 0}], MAX_FRAME_S = 1;
    video.id = 'view'; video.muted = true; video.autoplay = true; video.playsInline = true;
    screen.appendChild(video);
    onEnd(function () { video.removeAttribute('src'); video.load(); });  // lets the MediaSource go

    function place(frame) {
      if (last) {
        var gap = frame.stamp - last.stamp, allowed = 1.9 * last.duration;
        if (gap < 0 || gap > allowed) {
          shift = last.stamp + shift + (gap < 0 ? last.duration : allowed) - frame.stamp;
          shifts.push({from: frame.stamp + shift, shift: shift});
          if (shifts.length > 300) { shifts.shift(); }
        }
        // The next frame probably follows after the same interval: a frame lasts until then,
        // so that a server sending fewer frames than its nominal rate makes no gaps.
        if (gap > frame.duration && gap < MAX_FRAME_S) { frame.lengthen(gap); }
      }
      frame.shift = shift;
      last = frame;
    }
    function captureStamp(mediaTime) {
      for (var i = shifts.length - 1; i > 0; i--) {
        if (shifts[i].from <= mediaTime + 1e-4) { return mediaTime - shifts[i].shift; }
      }
      return mediaTime - shifts[0].shift;
    }
    function framePeriod() { return last ? last.duration : 1 / 30; }
    // Stay at the live edge: more than 1.5 frames behind the newest frame, play faster; more
    // than BEHIND_FRAMES behind (or before the buffered frames), jump to the newest one, at most
    // every JUMP_INTERVAL_MS (a jump is a seek: the browser decodes again from the last keyframe).
    // Drop what was played. Runs when data is appended and on a timer.
    var lastJump = -Infinity;
    function keepLive() {
      var ranges = video.buffered;
      if (!sourceBuffer || !ranges.length || video.seeking) { return; }
      var newest = ranges.length - 1, start = ranges.start(newest), end = ranges.end(newest);
      var playhead = video.currentTime, behind = end - playhead, period = framePeriod();
      if (playhead < start || (behind > BEHIND_FRAMES * period && now() - lastJump > JUMP_INTERVAL_MS)) {
        video.currentTime = Math.max(start, end - period / 2);
        video.playbackRate = 1;
        lastJump = now();
        stats.jumps++;
      } else {
        video.playbackRate = behind > 1.5 * period ? CATCH_UP_RATE : 1;
      }
      if (video.paused) { video.play().catch(function () {}); }
      if (!sourceBuffer.updating && playhead - ranges.start(0) > 2 * KEEP_S) {
        sourceBuffer.remove(ranges.start(0), playhead - KEEP_S);
      }
    }
    function fail(reason) {
      if (failed) { return; }
      failed = true;
      stop();
      fallBack(reason);
    }
    function feed() {  // appends the queued units that share one shift
      if (!sourceBuffer || sourceBuffer.updating || !queue.length || failed) { return; }
      var offset = null, parts = [];
      while (queue.length && (queue[0].shift === undefined || offset === null || queue[0].shift === offset)) {
        var unit = queue.shift();
        if (unit.shift !== undefined) { offset = unit.shift; }
        parts.push(unit.bytes);
      }
      try {
        if (offset !== null && sourceBuffer.timestampOffset !== offset) { sourceBuffer.timestampOffset = offset; }
        sourceBuffer.appendBuffer(parts.length === 1 ? parts[0] : parts.reduce(join));
      } catch (error) {
        fail('This browser failed to take the ' + config.type + ' stream (' + error.name + ': ' + error.message + ')');
      }
    }
    function open(mime) {
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
      every(keepLive, 50);
    }
    video.addEventListener('error', function () {
      fail('This browser could not decode the ' + config.type + ' stream ('
           + (video.error ? video.error.message || video.error.code : 'error') + ')');
    });
    if (video.requestVideoFrameCallback) {
      var presented = 0;
      var onFrame = function (time, frame) {
        // presentedFrames also counts frames shown between two callbacks.
        stats.frames += Math.max(0, frame.presentedFrames - presented - 1);
        presented = frame.presentedFrames;
        stats.width = frame.width; stats.height = frame.height;
        stats.stamp = captureStamp(frame.mediaTime);
        frameShown(stats.stamp, frame.expectedDisplayTime);
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    } else {  // older browsers: count decoded frames and read the playhead every 50 ms
      var decoded = 0;
      every(function () {
        stats.width = video.videoWidth; stats.height = video.videoHeight;
        var total = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
        for (stats.stamp = captureStamp(video.currentTime); decoded < total; decoded++) { frameShown(stats.stamp, now()); }
      }, 50);
    }

    stop = readStream(url, function (response) {
      var type = response.headers.get('Content-Type') || '';
      return type.indexOf(webm ? 'video/webm' : 'video/mp4') === 0 ? null : 'unexpected Content-Type ' + type;
    }, function (chunk) {
      var parsed;
      received = join(received, chunk);
      try {
        parsed = split(received);
      } catch (error) {
        return fail('The ' + config.type + ' stream is malformed (' + error.message + ')');
      }
      received = received.subarray(parsed[1]);
      parsed[0].forEach(function (unit) {
        if (unit.stamp !== undefined) { frameReceived(unit.stamp); place(unit); }
        if (unit.mime === null) { return fail('The stream carries no H.264 configuration (avcC)'); }
        if (unit.mime && !MediaSource.isTypeSupported(unit.mime)) { return fail('This browser cannot play ' + unit.mime); }
        if (!mediaSource && (webm || unit.mime)) { open(webm ? probe : unit.mime); }
        queue.push(unit);
      });
      feed();
    }, function (status, text) {
      fallBack('The server cannot send ' + config.type + ' (' + status + ': ' + text + ')');
    });
  }

  syncClock();
  setInterval(report, 1000);
  run(config.video ? playVideo : playMultipart, config.streamUrl);
}
"""
