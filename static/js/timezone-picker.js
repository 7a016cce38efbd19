/* Candor dashboard: make <select data-timezone-picker> searchable, and preselect the browser's
 * zone where the server asks for it (data-detect-browser-zone, on the new-organization form).
 *
 * Without JavaScript the select is a plain list grouped by region and the server's default
 * stays. The filter box rebuilds the select's options from a snapshot rather than hiding
 * <option>s, which Safari does not do. Typing narrows the list; when the chosen zone is
 * filtered out, the first match is chosen, so what the select shows is what will be saved. */
(function () {
  "use strict";

  function normalise(text) {
    return text.toLowerCase().replace(/[_\s]+/g, " ").trim();
  }

  function snapshot(select) {
    var groups = [];
    for (var i = 0; i < select.children.length; i++) {
      var child = select.children[i];
      if (child.tagName === "OPTGROUP") {
        var options = [];
        for (var j = 0; j < child.children.length; j++) options.push(child.children[j]);
        groups.push({ label: child.label, options: options });
      } else {
        groups.push({ label: null, options: [child] });
      }
    }
    return groups;
  }

  function rebuild(select, groups, query) {
    var chosen = select.value;
    var words = normalise(query).split(" ").filter(Boolean);
    var matches = [];
    while (select.firstChild) select.removeChild(select.firstChild);
    groups.forEach(function (group) {
      var kept = group.options.filter(function (option) {
        var haystack = normalise((group.label || "") + " " + option.value + " " + option.text);
        return words.every(function (word) { return haystack.indexOf(word) !== -1; });
      });
      if (!kept.length) return;
      var parent = select;
      if (group.label !== null) {
        parent = document.createElement("optgroup");
        parent.label = group.label;
        select.appendChild(parent);
      }
      kept.forEach(function (option) { parent.appendChild(option); matches.push(option); });
    });
    var stillThere = matches.some(function (option) { return option.value === chosen; });
    if (stillThere) {
      select.value = chosen;
    } else if (matches.length) {
      select.value = matches[0].value;
    }
    return matches.length;
  }

  function browserZone(select) {
    if (!window.Intl || !Intl.DateTimeFormat) return null;
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (error) {
      return null;
    }
    if (!zone) return null;
    var aliases = {};
    try {
      aliases = JSON.parse(select.getAttribute("data-zone-aliases") || "{}");
    } catch (error) {
      aliases = {};
    }
    return aliases[zone] || zone;
  }

  function enhance(select) {
    if (select.hasAttribute("data-timezone-enhanced")) return;
    select.setAttribute("data-timezone-enhanced", "");

    if (select.hasAttribute("data-detect-browser-zone")) {
      var zone = browserZone(select);
      var known = zone && Array.prototype.some.call(select.options, function (option) {
        return option.value === zone;
      });
      if (known) select.value = zone;
    }

    var groups = snapshot(select);
    var box = document.createElement("input");
    box.type = "search";
    box.className = "timezone-search";
    box.placeholder = "Search: city, region or UTC offset";
    box.setAttribute("aria-label", "Search time zones");
    box.setAttribute("aria-controls", select.id);
    box.autocomplete = "off";
    box.spellcheck = false;
    var status = document.createElement("span");
    status.className = "timezone-search-status helptext";
    status.setAttribute("aria-live", "polite");
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(status, select.nextSibling);

    box.addEventListener("input", function () {
      var count = rebuild(select, groups, box.value);
      if (!box.value) {
        status.textContent = "";
      } else if (count) {
        status.textContent = count === 1 ? "1 zone matches." : count + " zones match.";
      } else {
        status.textContent = "No zone matches; the list is unchanged.";
        rebuild(select, groups, "");
      }
    });
    /* Enter in the box must not submit the form half-chosen. */
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        select.focus();
      }
    });
  }

  function start() {
    var selects = document.querySelectorAll("select[data-timezone-picker]");
    for (var i = 0; i < selects.length; i++) enhance(selects[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
