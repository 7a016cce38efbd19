/* Candor dashboard: when staff change an incident's status and the message is still empty or
 * one of our default texts, swap in the default text for the new status.
 *
 * The texts come from a JSON data block (json_script "incident-default-texts"), which the
 * Content-Security-Policy leaves alone: only this file runs. Without JavaScript the form works
 * the same, minus the convenience. */
(function () {
  "use strict";
  var source = document.getElementById("incident-default-texts");
  if (!source) return;
  var texts = JSON.parse(source.textContent);
  var known = Object.keys(texts).map(function (k) { return texts[k]; });
  document.querySelectorAll("form [name=status]").forEach(function (status) {
    var body = status.form && status.form.querySelector("[name=body]");
    if (!body) return;
    status.addEventListener("change", function () {
      var current = body.value.trim();
      if ((current === "" || known.indexOf(current) !== -1) && texts[status.value]) {
        body.value = texts[status.value];
        body.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
  });
})();
