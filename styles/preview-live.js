// dreambook preview: reload when the book is rebuilt; show build errors over the last good page.
(function () {
  "use strict";
  var overlay = null;
  function hideErrors() {
    if (overlay) { overlay.remove(); overlay = null; }
  }
  function showErrors(lines) {
    hideErrors();
    overlay = document.createElement("div");
    overlay.setAttribute("role", "alert");
    overlay.id = "dreambook-build-errors";
    overlay.style.cssText = "position:fixed;left:0;right:0;bottom:0;max-height:60vh;overflow:auto;" +
      "margin:0;padding:1em 1.2em;background:#2b0b0b;color:#ffdede;font:14px/1.45 monospace;" +
      "box-shadow:0 -4px 16px rgba(0,0,0,.35);z-index:2147483647;white-space:pre-wrap";
    var heading = document.createElement("strong");
    heading.textContent = "The book did not build. The last good version is shown.\n\n";
    overlay.appendChild(heading);
    lines.forEach(function (line) {
      var entry = document.createElement("div");
      entry.textContent = line;
      entry.style.marginBottom = "0.6em";
      overlay.appendChild(entry);
    });
    document.body.appendChild(overlay);
  }
  if (document.body.dataset.dreambookView !== "spreads") {
    var link = document.createElement("a");
    link.href = "/__dreambook__/spreads";
    link.textContent = "Print preview";
    link.style.cssText = "position:fixed;top:.6em;right:.8em;padding:.3em .7em;background:#1d3d6b;" +
      "color:#fff;border-radius:4px;font:13px sans-serif;text-decoration:none;z-index:2147483646";
    document.body.appendChild(link);
  }
  var events = new EventSource("/__dreambook__/events");
  events.addEventListener("reload", function () { window.location.reload(); });
  // The spreads page swaps the pictures of the pages drawn again, one event per chunk laid
  // out, and reloads only when the book gained or lost pages (or a cover).
  var spreads = document.body.dataset.dreambookView === "spreads";
  var drawn = 0;
  var reloadWhenDone = false;
  events.addEventListener("pages", function (event) {
    if (!spreads) { return; }
    drawn += 1;
    (JSON.parse(event.data).images || []).forEach(function (name) {
      var shown = document.querySelectorAll("img[data-picture='" + name + "']");
      if (!shown.length && name === "cover.png") { reloadWhenDone = true; }
      shown.forEach(function (img) { img.src = "/pages/" + name + "?drawn=" + Date.now() + "-" + drawn; });
    });
  });
  events.addEventListener("pdf", function (event) {
    if (!spreads) { return; }
    var count = JSON.parse(event.data).pages;
    if (reloadWhenDone || String(count) !== document.body.dataset.pages) { window.location.reload(); }
    reloadWhenDone = false;
  });
  events.addEventListener("build-error", function (event) {
    showErrors(JSON.parse(event.data).diagnostics || []);
  });
})();
