// The dashboard page "Banner, badge and outage page": the live preview, drawn by the banner's
// own script (embed.js, loaded with data-candor-preview so it fetches nothing), and the Copy
// buttons. Without JavaScript the snippets are still selectable and the form still saves.
(() => {
  "use strict";
  const source = document.getElementById("banner-preview-data");
  const frame = document.querySelector("[data-banner-preview]");
  if (source && frame && window.CandorBanner) {
    const data = JSON.parse(source.textContent);
    const mount = frame.querySelector("[data-banner-mount]");
    const form = document.querySelector("[data-banner-form]");
    const value = (name, fallback) => {
      const field = form && form.elements[name];
      return (field && field.value) || fallback;
    };
    const draw = () => {
      const banner = {
        position: value("banner_position", data.banner.position),
        background: value("banner_background", data.banner.background),
        text: value("banner_text_color", data.banner.text),
      };
      frame.dataset.position = banner.position;
      // The hex code beside each colour picker follows the picker.
      document.querySelectorAll("[data-colour-value]").forEach((code) => {
        const input = code.parentElement.querySelector("input");
        if (input) code.textContent = input.value;
      });
      window.CandorBanner.render(Object.assign({}, data, { banner }), mount);
    };
    if (form) {
      form.addEventListener("input", draw);
      form.addEventListener("change", draw);
    }
    draw();
  }
  const status = document.querySelector(".copy-status");
  document.querySelectorAll("[data-copy]").forEach((button) => {
    const field = document.getElementById(button.dataset.copy);
    if (!navigator.clipboard || !field) return;
    button.hidden = false;
    button.addEventListener("click", () => {
      navigator.clipboard.writeText(field.value).then(
        () => { status.textContent = "Copied to the clipboard."; },
        () => { field.select(); status.textContent = "Copy failed: the text is selected, press Ctrl+C (⌘C)."; },
      );
    });
  });
})();
