// Runs the viewer's stream parsers (src/camera_server/www/stream_parsers.js) under node for
// test_stream_parsers.py. stdin: {"parser": "multipart" | "mp4" | "webm", "chunks": [base64, ...],
// "lengthen": seconds or null}. The chunks are fed one at a time, as fetch() hands them over.
// stdout: {"units": [{bytes (base64), stamp, duration, mime, type}], "left": bytes not used,
// "error": message of a thrown error}; with "lengthen", each frame is lengthened first.
'use strict';
var path = require('path');
var parsers = require(path.join(__dirname, '..', '..', '..', 'src', 'camera_server', 'www', 'stream_parsers.js'));

var input = '';
process.stdin.on('data', function (data) { input += data; });
process.stdin.on('end', function () {
  var request = JSON.parse(input);
  var split = {multipart: parsers.multipartParts, mp4: parsers.mp4Units, webm: parsers.webmUnits}[request.parser]();
  var received = new Uint8Array(0), units = [], error = null;
  try {
    request.chunks.forEach(function (chunk) {
      received = parsers.join(received, new Uint8Array(Buffer.from(chunk, 'base64')));
      var parsed = split(received);
      received = received.subarray(parsed[1]);
      units = units.concat(parsed[0]);
    });
  } catch (thrown) {
    error = thrown.message;
  }
  process.stdout.write(JSON.stringify({error: error, left: received.length, units: units.map(function (unit) {
    if (request.lengthen !== null && unit.lengthen) { unit.lengthen(request.lengthen); }
    return {bytes: Buffer.from(unit.bytes).toString('base64'), stamp: unit.stamp === undefined ? null : unit.stamp,
            duration: unit.duration === undefined ? null : unit.duration, mime: unit.mime, type: unit.type};
  })}));
});
