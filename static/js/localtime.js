/* Candor public page: show <time data-local> elements in the reader's time zone.
 *
 * The server renders each time in the page's time zone, with the UTC time in the title, so the
 * page reads correctly without JavaScript. This only rewrites the visible text; the UTC title
 * stays, so hovering still shows the UTC time. */
(function () {
  "use strict";
  if (!window.Intl || !Intl.DateTimeFormat) return;
  var formats = {
    datetime: { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" },
    time: { hour: "2-digit", minute: "2-digit", timeZoneName: "short" }
  };
  function localise(root) {
    var nodes = (root || document).querySelectorAll("time[data-local][datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var options = formats[node.getAttribute("data-local")];
      var when = new Date(node.getAttribute("datetime"));
      if (!options || isNaN(when.getTime())) continue;
      try {
        node.textContent = new Intl.DateTimeFormat(undefined, options).format(when);
      } catch (error) {
        /* keep the server-rendered text */
      }
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { localise(document); });
  } else {
    localise(document);
  }
  /* htmx swaps (if a later version refreshes parts of the page) get the same treatment. */
  document.addEventListener("htmx:afterSwap", function (event) { localise(event.target); });
})();
