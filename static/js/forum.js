/* Candor public incident page: the discussion's "Load more" without leaving the page.
 *
 * Without JavaScript "Load more" is a plain link to the next page of the discussion
 * (?page=N, served from the same cache as the first). With it, the next page is fetched and its
 * timeline entries are appended here, with the next "Load more" link in place of this one.
 * While an incident is open, static/js/live.js refreshes the whole page (discussion included).
 * Once it is closed that poll stops, but its discussion may still take comments: then the
 * section carries data-discussion-live (a URL answered 304 from the thread's version alone)
 * and this script asks every POLL_VISIBLE ms (POLL_HIDDEN in a hidden tab) and swaps the
 * section in, keeping what the reader was typing. A quiet discussion of a closed incident does
 * not need live.js's 1 s: 15 s is one cheap query per reader per 15 s.
 * Forms post normally, or through htmx for signed-in readers (htmx.min.js is loaded only on
 * their pages).
 * Words this script shows come from the markup, in the reader's language: the link's own text
 * ("Load more") and its data-loading-text ("Loading…"); none are written here (CSP forbids an
 * inline script that could carry them, and a second copy would drift).
 */
(function () {
  "use strict";
  if (!window.fetch || !window.DOMParser || !document.querySelector) return;

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-load-more]") : null;
    if (!link) return;
    var timeline = document.querySelector("#discussion [data-timeline]");
    if (!timeline) return;
    event.preventDefault();
    var label = link.textContent;
    link.setAttribute("aria-busy", "true");
    link.textContent = link.getAttribute("data-loading-text") || label;
    fetch(link.href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error("status " + response.status);
      return response.text();
    }).then(function (text) {
      var page = new DOMParser().parseFromString(text, "text/html");
      var more = page.querySelectorAll("#discussion [data-timeline] > li");
      for (var i = 0; i < more.length; i++) timeline.appendChild(document.adoptNode(more[i]));
      var next = page.querySelector("#discussion a[data-load-more]");
      var holder = link.parentNode;
      if (next) {
        link.href = next.href;
        link.textContent = next.textContent || label;
        link.removeAttribute("aria-busy");
      } else {
        holder.parentNode.removeChild(holder);
      }
      timeline.dispatchEvent(new CustomEvent("htmx:afterSwap", { bubbles: true }));
    }).catch(function () {
      // Fall back to the plain link: the next page opens on its own.
      window.location.href = link.href;
    });
  });

  var POLL_VISIBLE = 15000;
  var POLL_HIDDEN = 120000;

  function pollDiscussion() {
    var section = document.querySelector("#discussion[data-discussion-live]");
    if (!section) return;
    var version = section.getAttribute("data-thread-version");
    fetch(section.getAttribute("data-discussion-live"), {
      headers: { "If-None-Match": 'W/"t' + version + '"' },
      cache: "no-store",
      credentials: "same-origin"
    }).then(function (response) {
      if (response.status !== 200) return null;
      return response.text().then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").querySelector("#discussion");
        var current = document.querySelector("#discussion");
        if (!fresh || !current) return;
        // What the reader typed, opened and was told (static/js/live.js) survives the swap.
        var restore = window.candorKeep ? window.candorKeep(current) : function () {};
        current.parentNode.replaceChild(document.adoptNode(fresh), current);
        restore();
        fresh.dispatchEvent(new CustomEvent("htmx:afterSwap", { bubbles: true }));
      });
    }).catch(function () {
      /* try again at the next interval */
    }).then(function () {
      window.setTimeout(pollDiscussion, document.hidden ? POLL_HIDDEN : POLL_VISIBLE);
    });
  }
  window.setTimeout(pollDiscussion, POLL_VISIBLE);

  // Content swapped in by live.js or appended above gets htmx behaviour too.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (window.htmx && event.target) window.htmx.process(event.target);
  });
})();
