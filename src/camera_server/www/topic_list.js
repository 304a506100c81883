// The topic list (/): fills each thumbnail's caption with its topic's resolution and rate from
// /health, every second.
(function () {
  'use strict';
  var captions = document.querySelectorAll('.figures');
  function show(topics) {
    for (var i = 0; i < captions.length; i++) {
      var topic = captions[i].getAttribute('data-topic'), found = null;
      for (var j = 0; j < topics.length; j++) {
        if (topics[j].topic === topic || topics[j].topic === topic + '/compressed') { found = topics[j]; }
      }
      captions[i].textContent = found && found.width ?
        found.width + ' x ' + found.height + ', ' + found.input_fps.toFixed(1) + ' fps' : 'no image yet';
    }
  }
  function poll() {
    fetch('/health').then(function (r) { return r.ok ? r.json() : {topics: []}; })
      .then(function (health) { show(health.topics || []); }, function () {})
      .then(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
