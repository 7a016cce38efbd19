/* Candor dashboard: ask before a destructive form is sent.
 *
 * A form with data-confirm="Remove x?" shows that question and is sent only if the person
 * agrees. This replaces onsubmit="return confirm(...)" attributes, which the
 * Content-Security-Policy refuses to run (no inline script, no inline event handlers); the text
 * is an attribute value, so Django's escaping is all it needs. Listening on the document
 * covers forms added later by htmx. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();
