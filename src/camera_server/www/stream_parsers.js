// Splits the bytes of a /stream body into the units the viewer shows or hands to Media Source
// Extensions: multipart parts (mjpeg, png), MP4 boxes (h264) and WebM elements (vp8, vp9).
// Each parser is made by a function (it keeps state between calls) and is called with the bytes
// received so far; it returns [units, bytes used], and the caller keeps the unused tail.
// Loaded by the viewer page, and by node in the unit tests (module.exports).
var streamParsers = (function () {
  'use strict';

  function join(a, b) {
    var joined = new Uint8Array(a.length + b.length);
    joined.set(a); joined.set(b, a.length);
    return joined;
  }

  function readUint(bytes, at, length) {  // big-endian; a double holds the 64-bit MP4 times exactly
    var value = 0;
    for (var i = 0; i < length; i++) { value = value * 256 + bytes[at + i]; }
    return value;
  }

  // multipart/x-mixed-replace: [{bytes, type, stamp}] of each complete part; stamp is the part's
  // X-Timestamp in seconds, NaN without one. A part without Content-Length is skipped.
  function multipartParts() {
    var latin1 = new TextDecoder('latin1');
    function headEnd(bytes, from) {  // index of the blank line ending a part's headers, or -1
      for (var i = from; i + 3 < bytes.length; i++) {
        if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) { return i; }
      }
      return -1;
    }
    return function (bytes) {
      var parts = [], at = 0;
      for (;;) {
        var end = headEnd(bytes, at);
        if (end < 0) { break; }
        var head = latin1.decode(bytes.subarray(at, end));
        var length = /Content-Length:\s*(\d+)/i.exec(head), start = end + 4;
        if (!length) { at = start; continue; }
        var size = parseInt(length[1], 10);
        if (bytes.length < start + size) { break; }
        parts.push({bytes: bytes.slice(start, start + size),
                    type: (/Content-type:\s*([^\r\n;]+)/i.exec(head) || [0, 'image/jpeg'])[1],
                    stamp: parseFloat((/X-Timestamp:\s*([\d.]+)/i.exec(head) || [0, 'NaN'])[1])});
        at = start + size;
      }
      return [parts, at];
    };
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

  function hex(bytes) {
    var text = '';
    for (var i = 0; i < bytes.length; i++) { text += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16); }
    return text.toUpperCase();
  }

  function avcConfig(moov) {  // offset of the avcC box in a moov, or -1
    var avc1 = boxIn(moov, ['trak', 'mdia', 'minf', 'stbl', 'stsd']);
    if (avc1 < 0) { return -1; }
    avc1 += 16;  // stsd: header, version and flags, entry count
    if (fourcc(moov, avc1 + 4) !== 'avc1') { return -1; }
    // avc1 (a VisualSampleEntry): 78 bytes of fields after its header, then its boxes.
    return childBox(moov, avc1 + 86, avc1 + readUint(moov, avc1, 4), 'avcC');
  }

  // One moof + mdat: {bytes, stamp, duration} in seconds, and lengthen(seconds), which rewrites
  // the sample's duration in place (when the fragment states one).
  function mp4Frame(moof, mdat, timescale) {
    var traf = boxIn(moof, ['traf']), trafEnd = traf + readUint(moof, traf, 4);
    var tfdt = childBox(moof, traf + 8, trafEnd, 'tfdt'), trun = childBox(moof, traf + 8, trafEnd, 'trun');
    var tfhd = childBox(moof, traf + 8, trafEnd, 'tfhd');
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

  // Fragmented MP4: init units ({bytes}, the moov's with mime: its codec string, or null without
  // an avcC) and frames (moof + mdat, see mp4Frame).
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

  // WebM: EBML elements; the Segment (its size unknown on a live stream) is entered, not skipped.
  var SEGMENT = 0x18538067, CLUSTER = 0x1F43B675, INFO = 0x1549A966, TIMECODE_SCALE = 0x2AD7B1;
  var TRACKS = 0x1654AE6B, TRACK_ENTRY = 0xAE, DEFAULT_DURATION = 0x23E383;
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

  // A Cluster holding one SimpleBlock: lengthen(seconds) rewrites it with a BlockGroup that has a
  // BlockDuration (and a ReferenceBlock unless the frame is a keyframe): a SimpleBlock has no duration.
  function webmFrame(cluster, timecode, block, stamp, scale, duration) {
    var frame = {bytes: cluster, stamp: stamp, duration: duration};
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

  // WebM: init units ({bytes}: the EBML header, the Segment's head, Info, Tracks) and frames (one
  // Cluster with a Timecode and a SimpleBlock, see webmFrame; its duration is the track's
  // DefaultDuration). After an element of unknown size other than the Segment, everything is
  // passed on as it comes.
  function webmUnits() {
    var scale = 0.001, raw = false;  // s per timecode unit (TimecodeScale, 1 ms by default)
    var duration = WEBM_FRAME_S;
    return function (bytes) {
      if (raw) { return [[{bytes: bytes.slice()}], bytes.length]; }
      var units = [], at = 0;
      for (;;) {
        var head = ebmlNumber(bytes, at, true), size = head && ebmlNumber(bytes, at + head[1], false);
        if (!size) { break; }
        var body = at + head[1] + size[1];
        if (head[0] === SEGMENT) { units.push({bytes: bytes.slice(at, body)}); at = body; continue; }
        if (size[0] < 0) {
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
        } else if (head[0] === TRACKS) {
          var entry = ebmlChild(element, inner, element.length, TRACK_ENTRY);
          var given = entry && ebmlChild(element, entry[0], entry[0] + entry[1], DEFAULT_DURATION);
          duration = given ? readUint(element, given[0], given[1]) / 1e9 : WEBM_FRAME_S;
        } else if (head[0] === CLUSTER) {
          var timecode = ebmlChild(element, inner, element.length, TIMECODE);
          var block = ebmlChild(element, inner, element.length, SIMPLE_BLOCK);
          if (timecode && block) {
            units.push(webmFrame(element, timecode, block,
                                 readUint(element, timecode[0], timecode[1]) * scale, scale, duration));
            continue;
          }
        }
        units.push({bytes: element});
      }
      return [units, at];
    };
  }

  return {join: join, multipartParts: multipartParts, mp4Units: mp4Units, webmUnits: webmUnits};
})();

if (typeof module === 'object') { module.exports = streamParsers; }
