/* Candor outage page (apps/public/down.py, templates/status/public/down.html): refresh the page
 * from the status page's embed.json while it can be reached.
 *
 * This file is not loaded by URL: down.py puts its text inline, so the page stays one
 * self-contained file that a CDN or load balancer can serve while everything else is down. The
 * Content-Security-Policy allows exactly this text by its sha256 (apps/core/csp.py), so the file
 * must not depend on anything rendered: the data comes from the page (data-embed-json on <html>,
 * the "shown-items" JSON block, its words in the "down-strings" block, apps/public/embed.py
 * strings). Everything it inserts is text (textContent), never HTML. */
(() => {
  "use strict";
  const source = document.documentElement.dataset.embedJson;
  const shownData = document.getElementById("shown-items");
  let shown = shownData ? JSON.stringify(JSON.parse(shownData.textContent)) : null;
  const state = document.getElementById("state");
  const freshness = document.getElementById("freshness");
  const wordsData = document.getElementById("down-strings");
  const T = wordsData ? JSON.parse(wordsData.textContent) : {};
  const word = (key, fallback) => (typeof T[key] === "string" ? T[key] : fallback);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (all, key) => (key in values ? values[key] : all));
  const lang = document.documentElement.lang || undefined;
  const clock = (d) => d.toLocaleString(lang, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  // "in 5 minutes", "2 hours ago", "now": in the words and plurals of the page's language.
  const relativeTo = (m) => {
    try {
      const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
      if (Math.abs(m) < 1) return rtf.format(0, "second");
      return Math.abs(m) < 90 ? rtf.format(m, "minute") : rtf.format(Math.round(m / 60), "hour");
    } catch (error) {
      return "";
    }
  };
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
      t.textContent = fill(word("timeRelative", "{time} ({relative})"), { time: clock(d), relative: relativeTo(m) });
    });
  };
  const show = (data) => {
    const items = (data && data.items) || [];
    state.textContent = "";
    if (!items.length) {
      state.append(el("h1", word("notResponding", "This service is not responding right now")),
        el("p", word("nothingPosted", "Nothing has been posted about it yet. If it lasts, our status page will say what we know.")));
      return;
    }
    state.append(el("h1", word("working", "We know something is wrong and we are working on it")));
    items.forEach((item) => {
      const card = el("article", null, "card");
      const name = el("h2", item.name);
      name.dir = "auto";
      card.append(name);
      // `label` says "Maintenance in progress" in the page's language (embed.json since it has it).
      const meta = el("p", item.label || (item.kind === "maintenance" ? "Maintenance " + String(item.status_label).toLowerCase() : item.status_label), "meta");
      if (item.updated_at) {
        const t = time(item.updated_at);
        t.setAttribute("data-ago", "");
        meta.append(" · " + word("lastUpdated", "Last updated") + " ", t);
      }
      card.append(meta);
      if (item.latest_update) {
        const body = el("p", item.latest_update, "body");
        body.dir = "auto";
        card.append(body);
      }
      if (item.next_update_due) {
        const next = el("p", word("nextUpdateBy", "Next update by") + " ", "next");
        const t = time(item.next_update_due);
        t.setAttribute("data-until", "");
        next.append(t);
        card.append(next);
      }
      const link = el("a", word("readEvery", "Read every update and the discussion"));
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
        freshness.textContent = fill(word("checked", "Checked with the status page at {time}; this page checks again every minute."), { time: clock(new Date()) });
        relative();
      })
      .catch(() => { relative(); });
  };
  relative();
  refresh();
  setInterval(() => { if (!document.hidden) refresh(); }, 60000);
})();
