// The live viewer page (/stream_viewer): plays one /stream URL with the player for its type
// (mjpeg_player.js, mse_player.js) and shows the figures measured in the page, once a second.
// Latency is the server's wall clock when the frame is shown minus the frame's capture stamp
// (the media time of a video frame, X-Timestamp of a part); the clock offset comes from the
// "time" field of /health, taken at the midpoint of its fastest of a few round trips.
// Everything is also in ``window.viewerStats`` for scripts and tests.
(function () {
  'use strict';
  var LATENCY_FRAMES = 100;  // frames the latency figures are taken over
  var FPS_WINDOW = 2;  // reports (s) the fps and bitrate figures are taken over
  var RETRY_MS = 2000;  // wait before a stream that ended or failed is asked for again
  var config = JSON.parse(document.getElementById('viewer-config').textContent);
  var info = document.getElementById('info'), note = document.getElementById('note');
  var stats = window.viewerStats = {mode: config.type, width: 0, height: 0, fps: 0, kbps: 0,
    frames: 0, bytes: 0, stamp: null, latencyMs: null, latencyP95Ms: null, receivedMs: null,
    receivedP95Ms: null, jumps: 0, mime: '', note: '', ended: ''};
  // Capture to screen, and capture to arrival in the page (the server's and the network's
  // part), in ms over the last LATENCY_FRAMES frames.
  var latencies = [], arrivals = [], clockOffset = null, counted = [{at: now(), frames: 0, bytes: 0}];

  function now() { return performance.now(); }
  function wallClock(at) { return (performance.timeOrigin + at) / 1000; }  // s since the epoch

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
    viewer.screen.textContent = '';
    current = {play: play, url: url, ends: []};
    play(viewer, url);
  }
  function onEnd(end) { current.ends.push(end); }
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

  // What the players use of the page.
  var viewer = {
    config: config, stats: stats, screen: document.getElementById('screen'), now: now,
    onEnd: onEnd, retry: retry, readStream: readStream,
    every: function (action, ms) { var id = setInterval(action, ms); onEnd(function () { clearInterval(id); }); },
    tell: function (text) { note.textContent = stats.note = text; },
    frameShown: function (stamp, at) { stats.frames++; age(latencies, stamp, at); },
    frameReceived: function (stamp) { age(arrivals, stamp, now()); },
    fallBack: function (reason) {  // the video cannot play here: the MJPEG stream of the same topic
      viewer.tell(reason + ': showing MJPEG instead.');
      stats.mode = 'mjpeg';
      stats.ended = '';
      run(playMultipart, config.mjpegUrl);
    }
  };

  syncClock();
  setInterval(report, 1000);
  run(config.video ? playVideo : playMultipart, config.streamUrl);
})();
