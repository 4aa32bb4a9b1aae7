// What-if page: a table editor for the person, identities and claims, kept in step with the JSON.
(function () {
  var textarea = document.querySelector("#whatif-form textarea");
  var builder = document.getElementById("builder");
  if (!textarea || !builder) return;
  var categories = document.getElementById("categories-data").innerHTML;
  var kinds = document.getElementById("kinds-data").innerHTML;
  var identityRows = document.getElementById("identity-rows");
  var claimRows = document.getElementById("claim-rows");
  var data = null;
  var syncing = false;

  function el(html) { var t = document.createElement("tbody"); t.innerHTML = html.trim(); return t.firstChild; }
  function opt(html, value) {
    var s = document.createElement("select"); s.innerHTML = html; s.value = value == null ? "" : String(value); return s;
  }
  function money(v) { return v == null ? "" : String(v); }

  function identityRow(ident) {
    var tr = el('<tr><td></td><td><input type="date" data-k="start"></td><td><input type="date" data-k="end"></td>' +
      '<td><button type="button" class="btn btn-small" data-remove>×</button></td></tr>');
    var sel = opt(categories, ident.category); sel.setAttribute("data-k", "category"); tr.cells[0].appendChild(sel);
    tr.querySelector("[data-k=start]").value = ident.start || "";
    tr.querySelector("[data-k=end]").value = ident.end || "";
    return tr;
  }
  function claimRow(c) {
    var tr = el('<tr><td><input type="text" data-k="id" size="4"></td><td><input type="date" data-k="date"></td><td></td>' +
      '<td><input type="checkbox" data-k="special_disease"></td>' +
      '<td><select data-k="hospital_level"><option>1</option><option>2</option><option>3</option></select></td>' +
      '<td><select data-k="location"><option value="county">县域内</option><option value="city">市内</option><option value="province">省内</option><option value="out_of_province">省外</option></select></td>' +
      '<td><input type="checkbox" data-k="referral_compliant"></td>' +
      '<td><input type="text" data-k="total"></td><td><input type="text" data-k="policy_scope"></td>' +
      '<td><input type="text" data-k="basic_paid"></td><td><input type="text" data-k="critical_paid"></td>' +
      '<td><button type="button" class="btn btn-small" data-remove>×</button></td></tr>');
    var sel = opt(kinds, c.kind); sel.setAttribute("data-k", "kind"); tr.cells[2].appendChild(sel);
    tr.querySelector("[data-k=id]").value = c.id == null ? "" : c.id;
    tr.querySelector("[data-k=date]").value = c.date || "";
    tr.querySelector("[data-k=special_disease]").checked = !!c.special_disease;
    tr.querySelector("[data-k=hospital_level]").value = String(c.hospital_level || 1);
    tr.querySelector("[data-k=location]").value = c.location || "county";
    tr.querySelector("[data-k=referral_compliant]").checked = c.referral_compliant !== false;
    ["total", "policy_scope", "basic_paid", "critical_paid"].forEach(function (k) {
      tr.querySelector("[data-k=" + k + "]").value = money(c[k]);
    });
    return tr;
  }

  function load() {
    try { data = JSON.parse(textarea.value); } catch (e) { builder.classList.add("stale"); return; }
    if (!data || typeof data !== "object") return;
    builder.classList.remove("stale");
    var person = data.person || {};
    builder.querySelector("[data-f=region]").value = data.region || "";
    builder.querySelector("[data-f=residence]").value = person.residence || "rural";
    builder.querySelector("[data-f=scheme]").value = person.scheme || "resident";
    builder.querySelector("[data-f=tilted_applied]").checked = !!data.tilted_applied;
    identityRows.innerHTML = ""; claimRows.innerHTML = "";
    (person.identities || []).forEach(function (i) { identityRows.appendChild(identityRow(i)); });
    (data.claims || []).forEach(function (c) { claimRows.appendChild(claimRow(c)); });
  }

  function save() {
    if (!data) data = {};
    data.region = builder.querySelector("[data-f=region]").value.trim();
    data.person = data.person || {};
    data.person.residence = builder.querySelector("[data-f=residence]").value;
    data.person.scheme = builder.querySelector("[data-f=scheme]").value;
    data.tilted_applied = builder.querySelector("[data-f=tilted_applied]").checked;
    data.person.identities = Array.prototype.map.call(identityRows.rows, function (tr) {
      return { category: tr.querySelector("[data-k=category]").value, start: tr.querySelector("[data-k=start]").value || null,
               end: tr.querySelector("[data-k=end]").value || null };
    });
    data.claims = Array.prototype.map.call(claimRows.rows, function (tr) {
      var c = { id: tr.querySelector("[data-k=id]").value, date: tr.querySelector("[data-k=date]").value || null,
                kind: tr.querySelector("[data-k=kind]").value,
                special_disease: tr.querySelector("[data-k=special_disease]").checked,
                hospital_level: parseInt(tr.querySelector("[data-k=hospital_level]").value, 10),
                location: tr.querySelector("[data-k=location]").value,
                referral_compliant: tr.querySelector("[data-k=referral_compliant]").checked };
      ["total", "policy_scope", "basic_paid", "critical_paid"].forEach(function (k) {
        var v = tr.querySelector("[data-k=" + k + "]").value.trim();
        if (v !== "") c[k] = v; else if (k === "total" || k === "policy_scope") c[k] = null;
      });
      return c;
    });
    syncing = true;
    textarea.value = JSON.stringify(data, null, 2);
    syncing = false;
  }

  builder.addEventListener("input", save);
  builder.addEventListener("change", save);
  builder.addEventListener("click", function (e) {
    var t = e.target;
    if (t.hasAttribute("data-remove")) { t.closest("tr").remove(); save(); }
    if (t.getAttribute("data-add") === "identity") { identityRows.appendChild(identityRow({ category: "dibao", start: "", end: null })); save(); }
    if (t.getAttribute("data-add") === "claim") {
      var n = claimRows.rows.length + 1;
      claimRows.appendChild(claimRow({ id: "c" + n, kind: "inpatient", hospital_level: 1, location: "county", referral_compliant: true }));
      save();
    }
  });
  textarea.addEventListener("input", function () { if (!syncing) load(); });
  builder.hidden = false;
  load();
})();
