// Candor status banner: <script src="https://<status page>/embed.js" async></script>.
// Shows unresolved incidents and maintenance in progress, read from <page>/embed.json.
// One global (CandorBanner), no cookies, no dependencies; every text from the server is set
// with textContent. Dismissals are kept per incident in this site's localStorage.
// (Line comments only: the served copy leaves them out, apps/public/embed.py compact.)
(() => {
  "use strict";
  const me = document.currentScript;
  const base = me && me.src ? me.src.replace(/embed\.js([?#].*)?$/, "") : "";
  const KEY = "candor-banner-dismissed";
  const CSS = ":host{all:initial}.b{font:15px/1.4 system-ui,sans-serif;padding:4px 12px;" +
    "box-shadow:0 0 6px rgba(0,0,0,.3)}.i{display:flex;gap:8px;align-items:center;" +
    "max-width:72rem;margin:0 auto;padding:4px 0}.i+.i{border-top:1px solid}p{margin:0;flex:1}" +
    "a,button{color:inherit;font:inherit}a{font-weight:600;white-space:nowrap}button{" +
    "background:none;border:1px solid;border-radius:4px;cursor:pointer;min-width:32px;" +
    "min-height:32px;font-size:18px;line-height:1}a:focus,button:focus{outline:2px solid;" +
    "outline-offset:2px}";
  // The words, in the reader's language: embed.py serves this file with them in place of the
  // English ones below (the file as it is here is the dashboard's preview, in English).
  const T = /*candor:strings*/{
    lang: "en", serviceStatus: "Service status", updated: "Updated {time} ({ago})",
    nextBy: "Next update by {time} ({in})", nextDue: "Next update was due {time} ({ago})",
    details: "Details and discussion", dismissName: "Dismiss: {name}", dismiss: "Dismiss",
  }/*candor:end*/;
  // Times and "5 minutes ago" in the banner's language, not the host page's.
  const lang = T.lang;
  let host = null;
  let last = "";

  const el = (tag, text) => {
    const node = document.createElement(tag);
    if (text != null) node.textContent = String(text);
    return node;
  };
  const dismissed = () => {
    try { return JSON.parse(localStorage.getItem(KEY) || "[]"); } catch (e) { return []; }
  };
  const dismiss = (id) => {
    const list = dismissed().filter((x) => x !== id).concat([id]).slice(-50);
    try { localStorage.setItem(KEY, JSON.stringify(list)); } catch (e) { /* private mode */ }
  };
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (all, key) => (key in values ? values[key] : all));
  const clock = (d) => d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  // "in 5 minutes", "2 hours ago", "now": in the words and plurals of the page's language.
  const relative = (m) => {
    const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
    if (Math.abs(m) < 1) return rtf.format(0, "second");
    return Math.abs(m) < 90 ? rtf.format(m, "minute") : rtf.format(Math.round(m / 60), "hour");
  };
  const when = (iso, due) => {
    const d = new Date(iso);
    if (!iso || isNaN(d)) return "";
    const m = Math.round((d - Date.now()) / 60000);
    if (!due) return fill(T.updated, { time: clock(d), ago: relative(m) });
    return fill(m >= 0 ? T.nextBy : T.nextDue, { time: clock(d), in: relative(m), ago: relative(m) });
  };
  const colour = (c, fallback) => (/^#[0-9a-f]{6}$/i.test(c || "") ? c : fallback);
  const safe = (url) => (/^https?:\/\//.test(url || "") ? url : "#");

  // Renders `data` (embed.json). With `mount` (the dashboard's preview) the banner goes there
  // and shows every item; otherwise at the top or bottom of this page, dismissed ones left out.
  const render = (data, mount) => {
    const items = ((data && data.items) || []).filter(
      (item) => mount || dismissed().indexOf(item.id) < 0);
    if (!mount && host) { host.remove(); host = null; }
    if (mount) mount.textContent = "";
    if (!items.length) return null;
    const settings = (data && data.banner) || {};
    const box = document.createElement("div");
    box.setAttribute("data-candor-banner", "");
    const root = box.attachShadow({ mode: "open" });
    root.appendChild(el("style", CSS));
    const bar = el("div");
    bar.className = "b";
    bar.setAttribute("role", "region");
    bar.setAttribute("aria-label", T.serviceStatus);
    bar.style.background = colour(settings.background, "#1e293b");
    bar.style.color = colour(settings.text, "#ffffff");
    items.forEach((item) => {
      const row = el("div");
      row.className = "i";
      const p = el("p");
      p.appendChild(el("strong", item.name));
      const facts = [
        item.label || item.status_label,
        when(item.updated_at, false),
        when(item.next_update_due, true),
      ].filter(Boolean);
      p.appendChild(el("span", " · " + facts.join(" · ") + " · "));
      const link = el("a", T.details);
      link.href = safe(item.discussion_url);
      p.appendChild(link);
      const close = el("button", "×");
      close.type = "button";
      close.setAttribute("aria-label", fill(T.dismissName, { name: item.name }));
      close.title = T.dismiss;
      close.addEventListener("click", () => {
        if (!mount) dismiss(item.id);
        row.remove();
        if (!bar.querySelector(".i")) box.remove();
      });
      row.append(p, close);
      bar.appendChild(row);
    });
    root.appendChild(bar);
    if (mount) {
      mount.appendChild(box);
    } else {
      host = box;
      if (settings.position === "bottom") {
        box.style.cssText = "position:fixed;left:0;right:0;bottom:0;z-index:2147483000";
        document.body.appendChild(box);
      } else {
        document.body.insertBefore(box, document.body.firstChild);
      }
    }
    return box;
  };

  const refresh = () => {
    if (!base) return;
    fetch(base + "embed.json", { credentials: "omit", cache: "no-cache" })
      .then((r) => (r.ok ? r.text() : null))
      .then((text) => {
        // Redraw on a change, and on each poll while shown so the times stay true.
        if (text === null || (text === last && !host)) return;
        last = text;
        render(JSON.parse(text));
      })
      .catch(() => { /* unreachable: keep what is shown */ });
  };

  window.CandorBanner = { render, refresh };
  if (!me || me.hasAttribute("data-candor-preview")) return;
  const start = () => {
    refresh();
    setInterval(() => { if (!document.hidden) refresh(); }, 60000);
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
