/* Candor public page: keep an open status page (or open incident page) current.
 *
 * The page marks its <main> with data-live (the poll URL) and data-live-version (the content
 * version it was rendered from). Every POLL_VISIBLE ms while the tab is visible this asks the
 * server "changed since that version?" with If-None-Match: W/"v<version>". The server answers
 * 304 from the version alone (no rendering, no cache read) or 200 with the page, whose <main>
 * replaces ours. Hidden tabs ask every POLL_HIDDEN ms and ask at once when shown again.
 *
 * Why the intervals: the issue asks that a reader with the page open sees a new incident within
 * 2 s of it being posted. That is one interval (+10 % jitter), plus rendering the changed page
 * once on the server (~0.2 s for a page with 50 components and 90-day bars), plus parsing and
 * swapping it here (~0.2 s): so 1 s while visible. A 304 costs the server one indexed query
 * (the tenant lookup every public request makes) and about 2 ms, no rendering and no cache
 * read; a visible tab therefore costs about 2 ms of server time per second (500 readers watching
 * ~ one core). Poll answers may be held 1 s by a CDN (caching.LIVE_CACHE_CONTROL), so behind
 * one a burst of readers costs the origin about one request per second per page, at the price
 * of up to 1 s more delay. Raise POLL_VISIBLE to trade the 2 s goal for load.
 *
 * A plain script rather than htmx attributes: htmx trigger filters such as [!document.hidden]
 * need eval (a CSP is coming), htmx would swap the empty body of a 304, and readers in an outage
 * burst do not need another 50 KB. Without JavaScript nothing here runs: the page is the same,
 * and a reload shows the latest content (public pages are revalidated on every load).
 */
(function () {
  "use strict";
  var POLL_VISIBLE = 1000;
  var POLL_HIDDEN = 60000;
  // After an error or while the server serves its saved copy (database down): back off.
  var BACKOFF_START = 5000;
  var BACKOFF_MAX = 60000;
  var REQUEST_TIMEOUT = 10000;
  var TICK = 15000;

  if (!window.fetch || !window.DOMParser || !document.querySelector) return;

  var main = document.querySelector("main[data-live]");
  if (!main) return;
  var url = main.getAttribute("data-live");
  // null while the content on screen is the stale copy: then ask for the page unconditionally
  // until a fresh one comes (the note promises to go away once the database is back).
  var version = currentVersion(main);
  var checkedAt = initialCheck(main);
  var backoff = 0;
  var timer = null;
  var inFlight = false;
  var stopped = false;

  function currentVersion(root) {
    if (root.querySelector(".stale-note")) return null;
    return root.getAttribute("data-live-version");
  }

  function initialCheck(root) {
    // The page was fetched (and so revalidated) when its response arrived; a stale copy counts
    // from when it was rendered.
    var rendered = root.querySelector("[data-live-updated] time[datetime]");
    var renderedAt = rendered ? new Date(rendered.getAttribute("datetime")).getTime() : NaN;
    if (version !== null && window.performance && performance.timeOrigin) {
      var navigation = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
      if (navigation && navigation.responseStart > 0) {
        return performance.timeOrigin + navigation.responseStart;
      }
    }
    return isNaN(renderedAt) ? Date.now() : renderedAt;
  }

  // Words in the page's language: the "candor-strings" JSON block of the page
  // (apps/public/templatetags/public_i18n.py js_strings), English when it is missing.
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

  function relative(value, unit) {
    try {
      return new Intl.RelativeTimeFormat(lang, { numeric: "auto" }).format(value, unit);
    } catch (error) {
      return value + " " + unit;
    }
  }

  function ago(ms) {
    var minutes = Math.floor(ms / 60000);
    if (ms < 45000) return word("justNow", "just now");
    if (minutes < 1) minutes = 1;
    if (minutes < 60) return relative(-minutes, "minute");
    var hours = Math.floor(minutes / 60);
    if (hours < 24) return relative(-hours, "hour");
    return relative(-Math.floor(hours / 24), "day");
  }

  function showUpdated() {
    var line = main.querySelector("[data-live-updated]");
    if (!line) return;
    line.textContent = word("updated", "Updated {when}").replace("{when}", ago(Date.now() - checkedAt));
    try {
      line.title = new Date(checkedAt).toLocaleString(lang);
    } catch (error) {
      /* keep no title */
    }
  }

  function jitter(ms) {
    // Spread readers who opened the page together (an outage burst) over the interval.
    return Math.round(ms * (0.9 + Math.random() * 0.2));
  }

  function schedule(ms) {
    if (stopped) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, ms);
  }

  function next() {
    if (backoff) return jitter(backoff);
    return jitter(document.hidden ? POLL_HIDDEN : POLL_VISIBLE);
  }

  function failed() {
    backoff = backoff ? Math.min(backoff * 2, BACKOFF_MAX) : BACKOFF_START;
  }

  function openGroups(root) {
    // Keep the groups the reader opened or closed as they were (matched by their summary text).
    var state = {};
    var groups = root.querySelectorAll("details");
    for (var i = 0; i < groups.length; i++) {
      var summary = groups[i].querySelector("summary");
      if (summary) state[summary.textContent.trim()] = groups[i].open;
    }
    return state;
  }

  // What the reader has going in `root` (a comment being written, an open reply box, the field
  // in focus, the message of a refused post), to put back after `root`'s content is replaced:
  // `keep(root)` returns the function that does it. Fields and boxes are matched by id; a
  // message goes back before the element it stood before (by id, else by tag and class) in
  // the nearest ancestor with an id. Also used by static/js/forum.js (window.candorKeep).
  function keep(root) {
    var values = {};
    var fields = root.querySelectorAll("textarea[id], input[id]:not([type=hidden]), select[id]");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      var changed = field.tagName === "SELECT" ? true : field.value !== field.defaultValue;
      if (changed || nearAlert(field, root)) values[field.id] = field.value;
    }
    var open = {};
    var boxes = root.querySelectorAll("details[id]");
    for (var j = 0; j < boxes.length; j++) open[boxes[j].id] = boxes[j].open;
    var focused = document.activeElement && root.contains(document.activeElement)
      ? document.activeElement.id : null;
    var alerts = [];
    var shown = root.querySelectorAll(".fm-error[role=alert]");
    for (var k = 0; k < shown.length; k++) {
      var holder = shown[k].parentNode.closest ? shown[k].parentNode.closest("[id]") : null;
      if (holder) alerts.push({ node: shown[k], holder: holder.id, next: shown[k].nextElementSibling });
    }
    return function restore() {
      Object.keys(values).forEach(function (id) {
        var field = document.getElementById(id);
        if (field && document.contains(field)) field.value = values[id];
      });
      Object.keys(open).forEach(function (id) {
        var box = document.getElementById(id);
        if (box && box.tagName === "DETAILS") box.open = open[id];
      });
      alerts.forEach(function (alert) {
        var holder = document.getElementById(alert.holder);
        if (!holder || holder.querySelector(".fm-error[role=alert]")) return;
        var before = null;
        if (alert.next && alert.next.id) before = document.getElementById(alert.next.id);
        else if (alert.next) {
          var kind = alert.next.tagName.toLowerCase() + (alert.next.className ? "." + alert.next.className.trim().split(/\s+/).join(".") : "");
          before = holder.querySelector(kind);
        }
        if (before && holder.contains(before)) before.parentNode.insertBefore(alert.node, before);
        else holder.appendChild(alert.node);
      });
      if (focused) {
        var again = document.getElementById(focused);
        if (again) again.focus({ preventScroll: true });
      }
    };
  }
  window.candorKeep = keep;

  // A field whose form was refused (a message beside it): the server sent the typed text back
  // as its default value, so "changed" alone would not keep it.
  function nearAlert(field, root) {
    for (var node = field.parentNode; node && node !== root.parentNode; node = node.parentNode) {
      for (var child = node.firstElementChild; child; child = child.nextElementSibling) {
        if (child.matches && child.matches(".fm-error[role=alert]")) return true;
      }
    }
    return false;
  }

  function swap(fresh) {
    var state = openGroups(main);
    var restore = keep(main);
    // Move the parsed nodes over rather than setting innerHTML, which would serialise and parse
    // the whole page (hundreds of KB with uptime bars) a second time.
    var moved = document.createDocumentFragment();
    while (fresh.firstChild) moved.appendChild(document.adoptNode(fresh.firstChild));
    main.textContent = "";
    main.appendChild(moved);
    main.setAttribute("data-live-version", fresh.getAttribute("data-live-version") || "");
    var groups = main.querySelectorAll("details");
    for (var i = 0; i < groups.length; i++) {
      var summary = groups[i].querySelector("summary");
      var key = summary ? summary.textContent.trim() : null;
      if (key !== null && Object.prototype.hasOwnProperty.call(state, key)) {
        groups[i].open = state[key];
      }
    }
    restore();
    // static/js/localtime.js rewrites times in swapped content on this event.
    main.dispatchEvent(new CustomEvent("htmx:afterSwap", { bubbles: true }));
    if (!fresh.hasAttribute("data-live")) {
      // e.g. the incident was resolved: its page no longer refreshes itself.
      main.removeAttribute("data-live");
      stopped = true;
    }
  }

  function poll() {
    if (stopped || inFlight) return;
    inFlight = true;
    var headers = {};
    if (version !== null) headers["If-None-Match"] = 'W/"v' + version + '"';
    var controller = window.AbortController ? new AbortController() : null;
    var abort = controller ? window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT) : null;
    fetch(url, {
      headers: headers,
      // Our own If-None-Match, not the browser cache's: a 304 must reach us as a 304.
      cache: "no-store",
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      if (response.status === 304) {
        backoff = 0;
        checkedAt = Date.now();
        return null;
      }
      if (response.status === 404) {
        // The incident is gone from the page: leave what is shown, stop asking.
        stopped = true;
        return null;
      }
      if (response.status !== 200) {
        failed();
        return null;
      }
      var stale = response.headers.get("X-Status-Page-Stale") === "true";
      return response.text().then(function (text) {
        var page = new DOMParser().parseFromString(text, "text/html");
        var fresh = page.querySelector("main#main");
        if (!fresh) {
          failed();
          return;
        }
        if (main.querySelector(".htmx-request")) {
          // The reader's own post (a comment, a reply) is on its way: htmx swaps its answer
          // into the element it started from, and a swap here first would detach that element,
          // so the answer would land nowhere and the posted text would stay in its box. The
          // next poll (its version unchanged here) brings the page once the answer is in.
          return;
        }
        var changed = fresh.getAttribute("data-live-version") !== main.getAttribute("data-live-version");
        swap(fresh);
        if (page.title) document.title = page.title;
        var announce = document.querySelector("[data-live-announce]");
        if (announce && changed) {
          // Cleared first so that a second update in a row is announced again.
          announce.textContent = "";
          window.setTimeout(function () { announce.textContent = word("pageUpdated", "The status page was updated."); }, 100);
        }
        version = stale ? null : fresh.getAttribute("data-live-version");
        if (stale) {
          failed();
        } else {
          backoff = 0;
          checkedAt = Date.now();
        }
      });
    }).catch(function () {
      failed();
    }).then(function () {
      if (abort) window.clearTimeout(abort);
      inFlight = false;
      showUpdated();
      schedule(next());
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      schedule(next());
    } else {
      // Back to the tab: check at once, then showUpdated reflects it.
      showUpdated();
      if (!backoff) schedule(0);
    }
  });
  // Back/forward cache: the restored page may be old; check at once.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) schedule(0);
  });
  window.setInterval(function () {
    if (!document.hidden) showUpdated();
  }, TICK);

  showUpdated();
  schedule(next());
})();
