// The behaviour matrix filters, inlined into report.html. Without script every row shows.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("#matrix tbody tr"));
  var status = document.getElementById("f-status");
  var group = document.getElementById("f-group");
  var level = document.getElementById("f-level");
  var text = document.getElementById("f-text");
  var shown = document.getElementById("f-shown");
  function apply() {
    var wanted = text.value.trim().toLowerCase();
    var count = 0;
    rows.forEach(function (row) {
      var ok = (!status.value || row.dataset.status === status.value) &&
        (!group.value || row.dataset.group === group.value) &&
        (!level.value || row.dataset.level === level.value) &&
        (!wanted || row.textContent.toLowerCase().indexOf(wanted) !== -1);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " behaviours shown";
  }
  [status, group, level].forEach(function (el) { el.addEventListener("change", apply); });
  text.addEventListener("input", apply);
  document.querySelectorAll("[data-filter-status]").forEach(function (link) {
    link.addEventListener("click", function () { status.value = link.dataset.filterStatus; apply(); });
  });
  apply();
})();
