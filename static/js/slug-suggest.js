/* Candor dashboard: on "New organization", suggest an address from the name until the user
 * types one of their own.
 *
 * The form names its fields: data-slug-source="<id of the name input>" and
 * data-slug-target="<id of the address input>"; each element that shows the address has
 * data-slug-preview. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-slug-source][data-slug-target]");
  if (!form) return;
  var name = document.getElementById(form.dataset.slugSource);
  var slug = document.getElementById(form.dataset.slugTarget);
  var previews = document.querySelectorAll("[data-slug-preview]");
  if (!name || !slug) return;
  var touched = slug.value !== "";
  function slugify(v) {
    return v.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/, "");
  }
  function show() {
    var text = slug.value || slugify(name.value) || "your-name";
    previews.forEach(function (preview) { preview.textContent = text; });
  }
  name.addEventListener("input", function () { if (!touched) { slug.value = slugify(name.value); } show(); });
  slug.addEventListener("input", function () { touched = slug.value !== ""; show(); });
})();
