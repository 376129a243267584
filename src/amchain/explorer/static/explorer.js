// amchain explorer: print button and live updates from the node's event stream (/v1/events).
// Pages are rendered on the server; on a new block this script re-fetches the page and swaps
// the sections marked data-live-section, at most once every two seconds.
(function () {
  "use strict";
  var body = document.body;
  var printButton = document.querySelector("[data-print]");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
  if (!body.hasAttribute("data-live") || !window.EventSource) { return; }

  var status = document.getElementById("live-status");
  var statusText = status ? status.querySelector(".live-text") : null;
  var vin = body.getAttribute("data-vin");
  var pending = false;
  var lastRefresh = 0;
  var MIN_INTERVAL_MS = 2000;

  function setStatus(on, height) {
    if (!status || !statusText) { return; }
    status.classList.toggle("on", on);
    statusText.textContent = on
      ? status.getAttribute("data-text-on").replace("{height}", String(height))
      : status.getAttribute("data-text-off");
  }

  function refresh() {
    pending = false;
    lastRefresh = Date.now();
    fetch(window.location.href, { headers: { accept: "text/html" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-section][id]").forEach(function (section) {
          var replacement = fresh.getElementById(section.id);
          if (replacement && replacement.innerHTML !== section.innerHTML) {
            section.innerHTML = replacement.innerHTML;
          }
        });
      })
      .catch(function () { /* the next block retries */ });
  }

  function scheduleRefresh() {
    if (pending) { return; }
    pending = true;
    var wait = Math.max(0, lastRefresh + MIN_INTERVAL_MS - Date.now());
    window.setTimeout(refresh, wait);
  }

  function concernsThisVehicle(payload) {
    if (!vin) { return true; }
    var events = payload.events || [];
    for (var i = 0; i < events.length; i++) {
      var attributes = events[i].attributes || {};
      if (attributes.vin === vin) { return true; }
    }
    var failed = payload.failed || [];
    for (var j = 0; j < failed.length; j++) {
      if (failed[j].codespace === "vehicles") { return true; }
    }
    return false;
  }

  var source = new EventSource("/v1/events");
  source.addEventListener("open", function () {
    setStatus(true, (status && status.getAttribute("data-height")) || "…");
  });
  source.addEventListener("error", function () { setStatus(false); });
  source.addEventListener("block", function (message) {
    var payload;
    try { payload = JSON.parse(message.data); } catch (e) { return; }
    if (status) { status.setAttribute("data-height", String(payload.height)); }
    setStatus(true, payload.height);
    document.querySelectorAll("[data-live-height]").forEach(function (el) {
      el.textContent = String(payload.height);
      if (el.tagName === "A") { el.setAttribute("href", "/blocks/" + payload.height); }
    });
    if (concernsThisVehicle(payload)) { scheduleRefresh(); }
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
