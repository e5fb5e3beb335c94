// Move focus to the error summary so keyboard and screen-reader users hear what went wrong.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
