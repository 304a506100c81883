// The viewer's player for video streams (h264, vp8, vp9): Media Source Extensions. The fragmented
// MP4 or WebM body is appended to a SourceBuffer as it arrives (the MP4 codec string comes from
// the avcC record of the init segment). The page stays at the live edge: a little behind the newest
// buffered frame it plays faster, far behind it jumps there, and old frames are removed from the
// buffer. A stream starts with the server's current group of pictures (a keyframe and the frames
// since): in its first second the player jumps straight to its newest frame. A browser without MSE or without
// the codec, or a server that refuses the type, gets the MJPEG stream of the same topic instead
// (viewer.fallBack), with a line saying why.
// ManagedMediaSource is used wherever it exists, as hls.js does: it is the only MSE of iPhones and
// iPads (Safari 17.1+). It stays closed unless remote playback (AirPlay) is off, and the browser may
// tell it to stop streaming (endstreaming: enough buffered, or saving power): the player then stops
// reading the stream, and asks for it again at startstreaming, joining at the live edge.
function playVideo(viewer, url) {
  'use strict';
  var BEHIND_FRAMES = 3;  // frames behind the newest one that count as live; a joining video jumps beyond
  // Playback rate while the video is a little behind. At 2 a 30 fps video shows a frame every
  // 16.7 ms, a 60 Hz display's refresh, so any jitter skipped frames: Chromium painted 110-115 of
  // 120 vp8/vp9 frames in 4 of 14 windows; at 1.5 (22 ms a frame) it painted 119-120 in all 9.
  var CATCH_UP_RATE = 1.5;
  // After the first frame came: the time a joining video may jump in, each time it has painted a
  // frame since its last jump (WebKit, jumping again while it decoded, stalled for 0.5-0.8 s).
  var JOIN_MS = 1000;
  // Later, a jump only this far behind, at most every JUMP_INTERVAL_MS. A jump is a seek, decoded
  // again from the last keyframe: WebKit (GStreamer) stalled up to 0.8 s on it with a 2 s gop, and
  // does not play faster at CATCH_UP_RATE while 2-4 frames behind, so jumping at BEHIND_FRAMES made
  // it jump every 3 s and paint 6-26 of 30 vp8 frames/s (30-31 without); Chromium catches up by rate.
  var JUMP_BEHIND_S = 0.5;
  var JUMP_INTERVAL_MS = 3000;
  var KEEP_S = 10;  // seconds of played video kept in the SourceBuffer
  var MAX_FRAME_S = 1;  // the longest a frame is made to last when the next one comes late
  var PLAYHEAD_SLACK_S = 1;  // the most a shown frame's media time may be from the playhead
  var config = viewer.config, stats = viewer.stats, webm = config.type !== 'h264';
  var probe = webm ? 'video/webm; codecs="' + config.type + '"' : 'video/mp4; codecs="avc1.42E01E"';
  var Source = window.ManagedMediaSource || window.MediaSource, managed = !!window.ManagedMediaSource;
  if (!Source) { return viewer.fallBack('This browser has no Media Source Extensions for ' + config.type); }
  stats.mse = managed ? 'ManagedMediaSource' : 'MediaSource';
  if (!Source.isTypeSupported(probe)) { return viewer.fallBack('This browser cannot play ' + probe + ' (' + stats.mse + ')'); }
  var video = document.createElement('video'), mediaSource = null, sourceBuffer = null, stop = null;
  var split = null, received = null, queue = [], failed = false;
  // The media timeline: a frame is placed at its capture stamp + shift. The shift changes when
  // the next stamp is more than 1.9 frame durations after the last one or before it: MSE
  // takes such a gap for a discontinuity and drops every frame up to the next keyframe.
  // shifts maps media times back to capture stamps.
  var shift = 0, last = null, shifts = [{from: -Infinity, shift: 0}];
  video.id = 'view'; video.muted = true; video.autoplay = true; video.playsInline = true;
  viewer.screen.appendChild(video);
  viewer.onEnd(function () { video.removeAttribute('src'); video.load(); });  // lets the MediaSource go

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
  // Whether the frame at ``mediaTime`` is within BEHIND_FRAMES of the newest frame received.
  function atLiveEdge(mediaTime) { return !!last && last.stamp + last.shift - mediaTime <= BEHIND_FRAMES * framePeriod(); }
  // Stay at the live edge: more than 1.5 frames behind the newest frame, play faster; before the
  // buffered frames, or far behind (see JOIN_MS, JUMP_BEHIND_S), jump to the newest one. Drop what
  // was played. Runs when data is appended and on a timer.
  var lastJump = -Infinity, lastPaint = -Infinity, joined = null;
  function keepLive() {
    var ranges = video.buffered;
    if (!sourceBuffer || !ranges.length || video.seeking) { return; }
    var newest = ranges.length - 1, start = ranges.start(newest), end = ranges.end(newest);
    var playhead = video.currentTime, behind = end - playhead, period = framePeriod(), at = viewer.now();
    if (joined === null) { joined = at; }
    var far = at - joined < JOIN_MS ? behind > BEHIND_FRAMES * period && lastPaint > lastJump
      : behind > JUMP_BEHIND_S && at - lastJump > JUMP_INTERVAL_MS;
    if (playhead < start || far) {
      video.currentTime = Math.max(start, end - period / 2);
      video.playbackRate = 1;
      lastJump = at;
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
    if (stop) { stop(); }
    viewer.fallBack(reason);
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
      sourceBuffer.appendBuffer(parts.length === 1 ? parts[0] : parts.reduce(streamParsers.join));
    } catch (error) {
      fail('This browser failed to take the ' + config.type + ' stream (' + error.name + ': ' + error.message + ')');
    }
  }
  function open(mime) {
    stats.mime = mime;
    mediaSource = new Source();
    mediaSource.addEventListener('sourceopen', function () {
      if (video.src) { URL.revokeObjectURL(video.src); }
      mediaSource.duration = Infinity;  // live: no end
      sourceBuffer = mediaSource.addSourceBuffer(mime);
      sourceBuffer.addEventListener('updateend', function () { keepLive(); feed(); });
      feed();
    });
    if (managed) {
      video.disableRemotePlayback = true;
      mediaSource.addEventListener('endstreaming', function () {
        stats.streamingPauses++;
        if (stop) { stop(); stop = null; }
      });
      mediaSource.addEventListener('startstreaming', function () { if (!stop && !failed) { request(); } });
    }
    try {
      if (!managed) { throw new TypeError('srcObject takes no MediaSource here'); }
      video.srcObject = mediaSource;  // what a ManagedMediaSource needs on Apple devices
    } catch (error) {
      video.src = URL.createObjectURL(mediaSource);
    }
    viewer.every(keepLive, 50);
  }
  video.addEventListener('error', function () {
    fail('This browser could not decode the ' + config.type + ' stream ('
         + (video.error ? video.error.message || video.error.code : 'error') + ')');
  });
  if (video.requestVideoFrameCallback) {
    var presented = 0;
    stats.mediaTime = 'requestVideoFrameCallback';
    var onFrame = function (time, frame) {
      // presentedFrames also counts frames shown between two callbacks.
      stats.frames += Math.max(0, frame.presentedFrames - presented - 1);
      presented = frame.presentedFrames;
      lastPaint = viewer.now();
      stats.width = frame.width; stats.height = frame.height;
      // WebKitGTK 2.50 counts mediaTime from the start of playback (1.8 s where currentTime says
      // 1796539070.7 s, a capture stamp): such a reading gives way to the playhead, which is at
      // most a frame or two past the frame shown.
      var mediaTime = frame.mediaTime;
      if (!(Math.abs(mediaTime - video.currentTime) <= PLAYHEAD_SLACK_S)) {
        stats.mediaTime = 'currentTime (requestVideoFrameCallback said ' + mediaTime + ' s at ' + video.currentTime + ' s)';
        mediaTime = video.currentTime;
      }
      stats.stamp = captureStamp(mediaTime);
      viewer.frameShown(stats.stamp, frame.expectedDisplayTime, atLiveEdge(mediaTime));
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  } else {  // older browsers: count decoded frames and read the playhead every 50 ms
    var decoded = 0;
    stats.mediaTime = 'currentTime';
    viewer.every(function () {
      stats.width = video.videoWidth; stats.height = video.videoHeight;
      var total = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality().totalVideoFrames : 0;
      if (decoded < total) { lastPaint = viewer.now(); }
      for (stats.stamp = captureStamp(video.currentTime); decoded < total; decoded++) {
        viewer.frameShown(stats.stamp, viewer.now(), atLiveEdge(video.currentTime));
      }
    }, 50);
  }

  stats.streamingPauses = 0;
  // Reads the stream from its start (an init segment, then the server's group of pictures).
  function request() {
    split = webm ? streamParsers.webmUnits() : streamParsers.mp4Units();
    received = new Uint8Array(0);
    joined = null;
    stop = viewer.readStream(reading);
  }
  var reading = {url: url, onHead: function (response) {
    var type = response.headers.get('Content-Type') || '';
    return type.indexOf(webm ? 'video/webm' : 'video/mp4') === 0 ? null : 'unexpected Content-Type ' + type;
  }, onRefused: function (reason) {
    viewer.fallBack('The server cannot send ' + config.type + ' (' + reason + ')');
  }, onBroken: function (reason) {
    viewer.fallBack('The ' + config.type + ' stream failed (' + reason + ')');
  }, onChunk: function (chunk) {
    var parsed;
    received = streamParsers.join(received, chunk);
    try {
      parsed = split(received);
    } catch (error) {
      return fail('The ' + config.type + ' stream is malformed (' + error.message + ')');
    }
    received = received.subarray(parsed[1]);
    parsed[0].forEach(function (unit) {
      if (unit.stamp !== undefined) { viewer.frameReceived(unit.stamp); place(unit); }
      if (unit.mime === null) { return fail('The stream carries no H.264 configuration (avcC)'); }
      if (unit.mime && !Source.isTypeSupported(unit.mime)) { return fail('This browser cannot play ' + unit.mime); }
      if (!mediaSource && (webm || unit.mime)) { open(webm ? probe : unit.mime); }
      queue.push(unit);
    });
    feed();
  }};
  request();
}
