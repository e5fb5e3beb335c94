// Progressive enhancement: filter the country list as the reader types.
(function () {
  "use strict";
  var box = document.querySelector(".country-search");
  var input = document.getElementById("country-filter");
  var status = document.getElementById("country-filter-status");
  if (!box || !input) { return; }
  box.hidden = false;
  var regions = Array.prototype.slice.call(document.querySelectorAll("details.region"));
  function update() {
    var q = input.value.trim().toLowerCase();
    var shown = 0;
    regions.forEach(function (region) {
      var any = false;
      region.querySelectorAll("li[data-name]").forEach(function (li) {
        var match = !q || li.getAttribute("data-name").indexOf(q) !== -1;
        li.hidden = !match;
        if (match) { any = true; shown += 1; }
      });
      region.hidden = !any;
      if (q) { region.open = any; }
    });
    status.textContent = q ? shown + (shown === 1 ? " country matches" : " countries match") : "";
  }
  function count(region) {
    var n = region.querySelectorAll("input[type=checkbox]:checked").length;
    var span = region.querySelector(".count");
    if (span) { span.textContent = "(" + n + " chosen)"; }
  }
  input.addEventListener("input", update);
  input.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); } });
  regions.forEach(function (region) {
    region.addEventListener("change", function () { count(region); });
  });
})();
