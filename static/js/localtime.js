/* Candor public page: show <time data-local> elements in the reader's time zone.
 *
 * The server renders each time in the page's time zone, with the UTC time in the title, so the
 * page reads correctly without JavaScript. This only rewrites the visible text; the UTC title
 * stays, so hovering still shows the UTC time. Dates and "5 minutes ago" follow the page's
 * language (<html lang>); other words come from the page's "candor-strings" JSON block
 * (apps/public/templatetags/public_i18n.py js_strings). */
(function () {
  "use strict";
  if (!window.Intl || !Intl.DateTimeFormat) return;
  var lang = document.documentElement.lang || undefined;
  var words = {};
  try {
    var data = document.getElementById("candor-strings");
    if (data) words = JSON.parse(data.textContent) || {};
  } catch (error) {
    /* English below */
  }
  function word(key, fallback) {
    return typeof words[key] === "string" ? words[key] : fallback;
  }
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }
  function relative(value, unit) {
    try {
      return new Intl.RelativeTimeFormat(lang, { numeric: "auto" }).format(value, unit);
    } catch (error) {
      return "";
    }
  }
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
        node.textContent = new Intl.DateTimeFormat(lang, options).format(when);
      } catch (error) {
        /* keep the server-rendered text */
      }
    }
  }

  /* Update promises (templates/status/public/_next_update.html): the page may be a cached copy
   * rendered minutes ago, so "in 12 min", "overdue since" and "8 minutes ago" are counted here,
   * from the timestamps, and kept current while the page is open. */
  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  }
  /* "in 12 minutes", "in 3 hours": one unit, in the page's language and plurals. */
  function span(ms) {
    var minutes = Math.ceil(ms / 60000);
    if (minutes < 120) return relative(minutes, "minute");
    return relative(Math.round(minutes / 60), "hour");
  }
  function ago(ms) {
    var minutes = Math.floor(ms / 60000);
    if (minutes < 1) return word("justNow", "just now");
    if (minutes < 60) return relative(-minutes, "minute");
    var hours = Math.floor(minutes / 60);
    if (hours < 24) return relative(-hours, "hour");
    return relative(-Math.floor(hours / 24), "day");
  }
  function countdown(root) {
    var now = new Date();
    var promises = (root || document).querySelectorAll("[data-next-update]");
    for (var i = 0; i < promises.length; i++) {
      var node = promises[i];
      var due = new Date(node.getAttribute("data-next-update"));
      if (isNaN(due.getTime())) continue;
      var label = node.querySelector("[data-next-update-label]");
      var left = node.querySelector("[data-next-update-in]");
      var time = node.querySelector("time");
      if (time) {
        try {
          time.textContent = new Intl.DateTimeFormat(lang, sameDay(due, now) ? formats.time : formats.datetime).format(due);
        } catch (error) {
          /* keep the text */
        }
      }
      var ms = due.getTime() - now.getTime();
      if (ms > 0) {
        if (label) label.textContent = word("nextUpdateBy", "Next update by");
        if (left) left.textContent = " " + fill(word("inParentheses", "({when})"), { when: span(ms) });
        node.classList.remove("sp-overdue");
      } else {
        if (label && !label.querySelector("[data-overdue-icon]")) {
          var icon = document.createElement("span");
          icon.setAttribute("aria-hidden", "true");
          icon.setAttribute("data-overdue-icon", "");
          icon.textContent = "\u26a0";
          label.textContent = "";
          label.appendChild(icon);
          label.appendChild(document.createTextNode(" " + word("updateOverdueSince", "Update overdue since")));
        }
        if (left) left.textContent = "";
        node.classList.add("sp-overdue");
      }
    }
    var updated = (root || document).querySelectorAll("[data-last-updated]");
    for (var j = 0; j < updated.length; j++) {
      var at = new Date(updated[j].getAttribute("data-last-updated"));
      var when = updated[j].querySelector("time");
      if (isNaN(at.getTime()) || !when) continue;
      when.textContent = ago(Math.max(0, now.getTime() - at.getTime()));
    }
  }
  function refresh(root) {
    localise(root);
    countdown(root);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { refresh(document); });
  } else {
    refresh(document);
  }
  /* Keep the countdowns current (every 15 s is enough for minutes). */
  window.setInterval(function () { countdown(document); }, 15000);
  /* htmx swaps and static/js/live.js refreshes get the same treatment. */
  document.addEventListener("htmx:afterSwap", function (event) { refresh(event.target); });
})();
