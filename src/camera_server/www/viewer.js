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
  // A frame older or newer than this on the server's clock does not carry its capture time (a
  // replayed recording, a camera's own clock, a reading that is not the media timeline).
  var PLAUSIBLE_AGE_S = 60;
  var config = JSON.parse(document.getElementById('viewer-config').textContent);
  var info = document.getElementById('info'), note = document.getElementById('note');
  var stats = window.viewerStats = {mode: config.type, width: 0, height: 0, fps: 0, kbps: 0,
    frames: 0, bytes: 0, stamp: null, latencyMs: null, latencyP95Ms: null, receivedMs: null,
    receivedP95Ms: null, jumps: 0, mime: '', mediaTime: '', note: '', ended: '', latencyUnknown: '',
    firstFrameMs: null, liveEdgeMs: null, clockTripMs: null};
  // Capture to screen, and capture to arrival in the page (the server's and the network's
  // part), in ms over the last LATENCY_FRAMES frames.
  var latencies = [], arrivals = [], clockOffset = null, counted = [{at: now(), frames: 0, bytes: 0}];

  function now() { return performance.now(); }
  // s since the epoch, on the wall clock the server stamps frames with (timeOrigin + now() drifts
  // from it by milliseconds in WebKit: latencies came out below zero)
  function wallClock(at) { return (Date.now() - (performance.now() - at)) / 1000; }

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
          if (best) { clockOffset = best.offset; stats.clockTripMs = best.trip; }
        });
    }
    round().catch(function () {}).then(function () { setTimeout(syncClock, 30000); });
  }

  // Notes the age of a frame captured at ``stamp`` (s) at ``at``, or why it has none.
  function age(list, stamp, at) {
    if (clockOffset === null) { return; }
    var seconds = wallClock(at) + clockOffset - stamp;
    if (!(stamp > 0)) {
      stats.latencyUnknown = 'the frames carry no capture stamps';
    } else if (Math.abs(seconds) > PLAUSIBLE_AGE_S) {
      stats.latencyUnknown = 'frame stamps are ' + Math.round(seconds) + ' s from the server clock, not capture times';
    } else {
      stats.latencyUnknown = '';
      list.push(seconds * 1000);
      if (list.length > LATENCY_FRAMES) { list.shift(); }
    }
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
    var text = stats.width + ' x ' + stats.height + ' px, ' + (current.perFrame ? stats.fps.toFixed(1) + ' fps, '
      + Math.round(stats.kbps) + ' kbit/s' : 'fps unknown') + ', latency ';
    var unknown = !current.perFrame ? 'this browser shows the stream without a script'
      : clockOffset === null ? 'no server clock' : stats.latencyUnknown;
    if (unknown) {  // the figures over the last frames would not be this stream's now
      latencies.length = arrivals.length = 0;
      stats.latencyMs = stats.latencyP95Ms = stats.receivedMs = stats.receivedP95Ms = null;
    }
    text += unknown ? 'unknown (' + unknown + ')' : stats.latencyMs === null ? '...'
      : Math.round(stats.latencyMs) + ' ms (p95 ' + Math.round(stats.latencyP95Ms) + ' ms; received after '
        + Math.round(stats.receivedMs) + ' ms)';
    info.textContent = text + (stats.ended ? ' (' + stats.ended + ')' : '');
  }

  // The player now running: its play function and URL, what ends it (timers, streams), whether it
  // (or the one it reconnects for) has shown a frame, and whether it sees each frame (perFrame).
  var current = null;
  function run(play, url, again) {
    var shown = again ? current.shown : false;
    end();
    viewer.screen.textContent = '';
    current = {play: play, url: url, ends: [], shown: shown, perFrame: true, askedAt: null};
    play(viewer, url);
  }
  function end() {
    if (current) { current.ends.forEach(function (stop) { stop(); }); current.ends = []; }
  }
  function onEnd(stop) { current.ends.push(stop); }
  // A stream ended, broke or was refused. Once its player has shown a frame, the same player again
  // in RETRY_MS, however often (the server may be restarting; the last picture stays). Before
  // that, ``otherwise(reason)``, or the reason is shown once and the player stops.
  function interrupted(reason, otherwise) {
    var player = current;
    if (!player.shown) { return (otherwise || fail)(reason); }
    stats.ended = reason + '; reconnecting';
    setTimeout(function () { if (current === player) { run(player.play, player.url, true); } }, RETRY_MS);
  }
  function fail(reason) {
    end();
    stats.ended = reason;
    viewer.tell('The stream failed: ' + reason + '. Reload the page to try again.');
  }

  // GET options.url (with options.accept as its Accept) and hand each received chunk to
  // options.onChunk. options.onHead(response) may return a reason to refuse the body. A reply
  // that is not 2xx goes to options.onRefused(reason), or else counts as an interruption, as
  // does a body that ends; a failed request or body too, with options.onBroken for the first
  // failure (see interrupted). Returns a function that aborts.
  function readStream(options) {
    var abort = window.AbortController ? new AbortController() : null, stopped = false;
    function stop() { stopped = true; if (abort) { abort.abort(); } }
    onEnd(stop);
    var headers = options.accept ? {Accept: options.accept} : {};
    if (current.askedAt === null) { current.askedAt = now(); }
    fetch(options.url, {cache: 'no-store', headers: headers, signal: abort ? abort.signal : undefined})
      .then(function (response) {
        if (!response.ok) {
          return response.text().then(function (text) {
            if (!stopped) { (options.onRefused || interrupted)(response.status + ': ' + text.trim()); }
          });
        }
        var refusal = options.onHead ? options.onHead(response) : null;
        if (refusal) { return (options.onRefused || interrupted)(refusal); }
        stats.ended = '';
        var reader = response.body.getReader();
        function pump() {
          return reader.read().then(function (chunk) {
            if (stopped) { return; }
            if (chunk.done) { return interrupted('stream ended'); }
            stats.bytes += chunk.value.length;
            options.onChunk(chunk.value);
            return pump();
          });
        }
        return pump();
      }).catch(function (error) { if (!stopped) { interrupted('stream error: ' + error, options.onBroken); } });
    return stop;
  }

  // What the players use of the page.
  var viewer = {
    config: config, stats: stats, screen: document.getElementById('screen'), now: now,
    onEnd: onEnd, run: run, fail: fail, readStream: readStream,
    withoutFrames: function () { current.perFrame = false; },  // the player sees no single frame
    every: function (action, ms) { var id = setInterval(action, ms); onEnd(function () { clearInterval(id); }); },
    tell: function (text) { note.textContent = stats.note = text; },
    // A frame is on screen at ``at``; ``live`` is false while it is older than the newest ones the
    // player holds (a video joining with a group of pictures). firstFrameMs and liveEdgeMs count
    // from the page's first request for the stream.
    frameShown: function (stamp, at, live) {
      current.shown = true;
      stats.frames++;
      age(latencies, stamp, at);
      if (current.askedAt === null) { return; }
      if (stats.firstFrameMs === null) { stats.firstFrameMs = at - current.askedAt; }
      if (stats.liveEdgeMs === null && live !== false) { stats.liveEdgeMs = at - current.askedAt; }
    },
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
