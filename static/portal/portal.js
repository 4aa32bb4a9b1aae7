/* Behaviour shared by every page, without inline scripts or event attributes
   (Content-Security-Policy: script-src 'self').
   data-autosubmit   on a select: submits its form when changed
   data-confirm="…"  on a button or a form: asks before submitting
   data-print        on a button: prints the page
   data-submit-once  on a form: a second submit while the first is on its way is ignored
   .tick-all[data-target=NAME]: ticks or unticks every checkbox named NAME */
(function () {
  "use strict";
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) { el.form.submit(); return; }
    if (el.matches && el.matches(".tick-all[data-target]")) {
      document.querySelectorAll('input[name="' + el.dataset.target + '"]').forEach(function (b) { b.checked = el.checked; });
    }
  });
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest ? ev.target.closest("[data-confirm], [data-print]") : null;
    if (!el || el.tagName === "FORM") { return; }
    if (el.hasAttribute("data-print")) { ev.preventDefault(); window.print(); return; }
    if (!window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); ev.stopImmediatePropagation(); }
  }, true);
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); return; }
    if (form.hasAttribute("data-submit-once")) {
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
    }
  });
}());
