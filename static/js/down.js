/* Candor outage page (apps/public/down.py, templates/status/public/down.html): refresh the page
 * from the status page's embed.json while it can be reached.
 *
 * This file is not loaded by URL: down.py puts its text inline, so the page stays one
 * self-contained file that a CDN or load balancer can serve while everything else is down. The
 * Content-Security-Policy allows exactly this text by its sha256 (apps/core/csp.py), so the file
 * must not depend on anything rendered: the data comes from the page (data-embed-json on <html>,
 * the "shown-items" JSON block). Everything it inserts is text (textContent), never HTML. */
(() => {
  "use strict";
  const source = document.documentElement.dataset.embedJson;
  const shownData = document.getElementById("shown-items");
  let shown = shownData ? JSON.stringify(JSON.parse(shownData.textContent)) : null;
  const state = document.getElementById("state");
  const freshness = document.getElementById("freshness");
  const clock = (d) => d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const span = (m) => (m < 1 ? "under a minute" : m < 90 ? m + " min" : Math.round(m / 60) + " h");
  const el = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text != null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  };
  const time = (iso) => {
    const t = el("time", clock(new Date(iso)));
    t.dateTime = iso;
    return t;
  };
  const relative = () => {
    document.querySelectorAll("time[data-ago], time[data-until]").forEach((t) => {
      const d = new Date(t.dateTime);
      if (isNaN(d)) return;
      const m = Math.round((d - Date.now()) / 60000);
      const when = t.hasAttribute("data-until") && m >= 0 ? "in " + span(m) : span(-m) + " ago";
      t.textContent = clock(d) + " (" + when + ")";
    });
  };
  const show = (data) => {
    const items = (data && data.items) || [];
    state.textContent = "";
    if (!items.length) {
      state.append(el("h1", "This service is not responding right now"),
        el("p", "Nothing has been posted about it yet. If it lasts, our status page will say what we know."));
      return;
    }
    state.append(el("h1", "We know something is wrong and we are working on it"));
    items.forEach((item) => {
      const card = el("article", null, "card");
      card.append(el("h2", item.name));
      const meta = el("p", item.kind === "maintenance" ? "Maintenance " + String(item.status_label).toLowerCase() : item.status_label, "meta");
      if (item.updated_at) {
        const t = time(item.updated_at);
        t.setAttribute("data-ago", "");
        meta.append(" · Last updated ", t);
      }
      card.append(meta);
      if (item.latest_update) card.append(el("p", item.latest_update, "body"));
      if (item.next_update_due) {
        const next = el("p", "Next update by ", "next");
        const t = time(item.next_update_due);
        t.setAttribute("data-until", "");
        next.append(t);
        card.append(next);
      }
      const link = el("a", "Read every update and the discussion");
      link.href = /^https?:\/\//.test(item.discussion_url || "") ? item.discussion_url : "#";
      const p = el("p");
      p.append(link);
      card.append(p);
      state.append(card);
    });
  };
  const refresh = () => {
    fetch(source, { credentials: "omit", cache: "no-cache" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((data) => {
        const now = JSON.stringify((data && data.items) || []);
        if (now !== shown) {
          show(data);
          shown = now;
        }
        freshness.textContent = "Checked with the status page at " + clock(new Date()) + "; this page checks again every minute.";
        relative();
      })
      .catch(() => { relative(); });
  };
  relative();
  refresh();
  setInterval(() => { if (!document.hidden) refresh(); }, 60000);
})();
