// Version page: find parameters by name, path or clause; show only unset ones; mark edited boxes.
(function () {
  var filter = document.getElementById("param-filter");
  var unsetOnly = document.getElementById("unset-only");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.param, .ed-leaf"));
  function apply() {
    var q = (filter && filter.value || "").trim().toLowerCase();
    var only = unsetOnly && unsetOnly.checked;
    rows.forEach(function (tr) {
      var hit = (!q || tr.getAttribute("data-search").toLowerCase().indexOf(q) >= 0) && (!only || tr.classList.contains("is-unset"));
      tr.hidden = !hit;
    });
    document.querySelectorAll("tbody.param-section").forEach(function (tb) {
      tb.hidden = !tb.querySelector("tr.param:not([hidden])");
    });
  }
  if (filter) filter.addEventListener("input", apply);
  if (unsetOnly) unsetOnly.addEventListener("change", apply);
  document.querySelectorAll("#param-form input[name^='p:'], #param-form select[name^='p:']").forEach(function (el) {
    var initial = el.value;
    el.addEventListener("input", function () { el.closest("tr").classList.toggle("changed", el.value !== initial); });
    el.addEventListener("change", function () { el.closest("tr").classList.toggle("changed", el.value !== initial); });
  });
  var form = document.getElementById("param-form");
  if (form) {
    form.addEventListener("submit", function () {
      // Send only the boxes that were changed, so an unchanged parameter is never touched.
      form.querySelectorAll("tr.param:not(.changed):not(.has-error) [name^='p:']").forEach(function (el) { el.disabled = true; });
    });
  }
})();
// A deductible's or threshold's inputs: only those of the kind chosen are shown (the page answers
// with the same when the choice is saved; this shows them at once).
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("select[data-modes]")) return;
  var form = select.closest("form");
  form.querySelectorAll("[data-mode]").forEach(function (el) {
    el.hidden = el.getAttribute("data-mode").split(" ").indexOf(select.value) < 0;
  });
});
