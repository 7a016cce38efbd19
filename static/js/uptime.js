/* Candor public page: the tooltip of the 90-day uptime bars.
 *
 * The server sends each bar as 90 bare cells (apps/public/views_public.py bars_html) rather
 * than 90 texts: that made the page several times heavier than a phone should download. This
 * script puts a day's text together when it is shown:
 * - a day with issues: its line in the bar's "N days with issues" list (`li[data-day=index]`),
 *   which readers without JavaScript and screen readers get too;
 * - a day with its own text in `data-t` (rare: e.g. an operational day with nothing measured);
 * - otherwise the date (`data-start`, the bar's first day, plus the cell's index) and
 *   "no data" (class n) or "100.00 % uptime".
 *
 * Shown on hover, on tap, and from the keyboard: each bar is one tab stop, the arrow keys move
 * from day to day (Home: the first, End: today), Escape hides it. One tooltip element serves
 * the whole page. */
(function () {
  "use strict";
  /* Words in the page's language: the "candor-strings" JSON block (public_i18n.js_strings);
   * dates from Intl in the language of <html lang>. */
  var lang = document.documentElement.lang || undefined;
  var words = {};
  try {
    var data = document.getElementById("candor-strings");
    if (data) words = JSON.parse(data.textContent) || {};
  } catch (error) {
    /* English below */
  }
  function fill(key, fallback, values) {
    var text = typeof words[key] === "string" ? words[key] : fallback;
    return text.replace(/\{(\w+)\}/g, function (all, name) { return name in values ? values[name] : all; });
  }
  function dayName(day) {
    try {
      return new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" }).format(day);
    } catch (error) {
      return day.toISOString().slice(0, 10);
    }
  }
  var tip = null;
  var shown = null; /* { bar, index } */

  function barOf(node) {
    return node && node.closest ? node.closest(".sp-bars") : null;
  }

  /* The bar's days: <div class="sp-bars"><ol><li>... */
  function days(bar) {
    return bar.firstElementChild ? bar.firstElementChild.children : [];
  }

  /* The day under `node`, or null. */
  function dayOf(node, bar) {
    return bar && node.parentNode && node.parentNode.parentNode === bar && node.tagName === "LI" ? node : null;
  }

  function indexOf(cell) {
    return Array.prototype.indexOf.call(cell.parentNode.children, cell);
  }

  function dayText(bar, index) {
    var cell = days(bar)[index];
    var own = cell.getAttribute("data-t");
    if (own) return own;
    var item = bar.parentNode.querySelector('.sp-issue-days li[data-day="' + index + '"]');
    if (item) return item.textContent.trim();
    var parts = (bar.getAttribute("data-start") || "").split("-");
    var day = new Date(Date.UTC(+parts[0], +parts[1] - 1, +parts[2] + index));
    if (isNaN(day.getTime())) return "";
    var date = dayName(day);
    if (cell.classList.contains("n")) return fill("dayNoData", "{date}: no data", { date: date });
    return fill("dayUptime", "{date}: {percent} % uptime", { date: date, percent: "100.00" });
  }

  function tooltip() {
    if (!tip || !tip.isConnected) {
      tip = document.createElement("div");
      tip.className = "sp-tooltip";
      tip.id = "sp-uptime-tip";
      tip.setAttribute("role", "tooltip");
      tip.hidden = true;
      /* Inside <main> (a landmark, as all content should be); static/js/live.js empties it
       * when it refreshes the page, and the next day shown makes a new one. */
      (document.querySelector("main") || document.body).appendChild(tip);
    }
    return tip;
  }

  function place() {
    if (!shown) return;
    var cell = days(shown.bar)[shown.index];
    var rect = cell.getBoundingClientRect();
    var width = tip.offsetWidth;
    var height = tip.offsetHeight;
    var room = document.documentElement.clientWidth;
    /* Centred on the day, kept inside the window (a phone's first and last days). */
    var left = Math.max(8, Math.min(rect.left + rect.width / 2 - width / 2, room - width - 8));
    var top = rect.top - height - 8;
    if (top < 4) top = rect.bottom + 8;
    tip.style.left = Math.round(left) + "px";
    tip.style.top = Math.round(top) + "px";
  }

  function hide() {
    if (!shown) return;
    var cell = days(shown.bar)[shown.index];
    if (cell) cell.removeAttribute("data-on");
    shown.bar.removeAttribute("aria-describedby");
    shown = null;
    if (tip) tip.hidden = true;
  }

  /* `mark`: outline the day (keyboard and touch, where no pointer shows which day it is). */
  function show(bar, index, mark) {
    var count = days(bar).length;
    if (!count) return;
    index = Math.max(0, Math.min(index, count - 1));
    hide();
    var box = tooltip();
    box.textContent = dayText(bar, index);
    box.hidden = false;
    shown = { bar: bar, index: index };
    if (mark) days(bar)[index].setAttribute("data-on", "");
    if (document.activeElement === bar) bar.setAttribute("aria-describedby", box.id);
    place();
  }

  function focusable(root) {
    var bars = (root || document).querySelectorAll(".sp-bars");
    for (var i = 0; i < bars.length; i++) bars[i].tabIndex = 0;
  }

  document.addEventListener("mouseover", function (event) {
    var bar = barOf(event.target);
    var day = dayOf(event.target, bar);
    if (day) show(bar, indexOf(day), document.activeElement === bar);
  });
  document.addEventListener("mouseout", function (event) {
    var bar = barOf(event.target);
    if (!bar || !shown || shown.bar !== bar || document.activeElement === bar) return;
    if (!bar.contains(event.relatedTarget)) hide();
  });
  document.addEventListener("click", function (event) {
    var bar = barOf(event.target);
    var day = dayOf(event.target, bar);
    if (day) {
      show(bar, indexOf(day), true);
    } else if (shown && !bar) {
      hide();
    }
  });
  document.addEventListener("focusin", function (event) {
    var bar = event.target;
    if (!bar.classList || !bar.classList.contains("sp-bars")) return;
    /* Start from today, unless a tap or a click already picked a day of this bar. */
    show(bar, shown && shown.bar === bar ? shown.index : days(bar).length - 1, true);
  });
  document.addEventListener("focusout", function (event) {
    if (shown && event.target === shown.bar) hide();
  });
  document.addEventListener("keydown", function (event) {
    var bar = event.target;
    if (!bar.classList || !bar.classList.contains("sp-bars")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var index = shown && shown.bar === bar ? shown.index : days(bar).length - 1;
    var moves = { ArrowLeft: -1, ArrowRight: 1 };
    if (event.key in moves) {
      index += moves[event.key];
    } else if (event.key === "Home") {
      index = 0;
    } else if (event.key === "End") {
      index = days(bar).length - 1;
    } else if (event.key === "Escape") {
      hide();
      return;
    } else {
      return;
    }
    event.preventDefault();
    show(bar, index, true);
  });
  window.addEventListener("scroll", place, { passive: true });
  window.addEventListener("resize", place);

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { focusable(document); });
  } else {
    focusable(document);
  }
  /* static/js/live.js replaces the page's content: the bars shown are new ones. */
  document.addEventListener("htmx:afterSwap", function (event) {
    if (shown && !shown.bar.isConnected) {
      shown = null;
      if (tip) tip.hidden = true;
    }
    focusable(event.target);
  });
})();
