/* Candor dashboard: "Copy" buttons for secrets shown once (API keys, alert URLs).
 *
 * A button with data-copy="<field id>" copies that field's value; the message goes to the
 * page's .copy-status element, and data-copy-failed (on the button) says what to do when the
 * clipboard refuses. Progressive enhancement: buttons start hidden, and without JavaScript the
 * field is still selectable and copyable. */
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    var status = document.querySelector(".copy-status");
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        if (status) status.textContent = "Copied to the clipboard.";
      }, function () {
        field.select();
        if (status) status.textContent = button.dataset.copyFailed || "Copy failed: press Ctrl+C (⌘C).";
      });
    });
  });
})();
