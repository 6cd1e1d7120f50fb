// The app's only script (the Content-Security-Policy allows no inline script or style).
// Each behaviour starts from data attributes in the page; a page without them runs nothing.
(function () {
  "use strict";

  // Progress bars: <div class="progress-bar" data-progress="42.5">; set through the CSSOM,
  // which the policy allows, instead of a style attribute, which it does not.
  function showProgress(root) {
    root.querySelectorAll("[data-progress]").forEach(function (bar) {
      bar.style.width = Math.max(0, Math.min(100, parseFloat(bar.dataset.progress) || 0)) + "%";
    });
  }

  // Selects that submit their form when changed (filters).
  function autoSubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  // Intake: offer only the kits that fit the chosen model (the server checks again).
  function kitFilter() {
    var kit = document.querySelector("select[data-kit-fits]");
    var manual = document.getElementById("manual_id");
    if (!kit || !manual) return;
    var fits = JSON.parse(kit.dataset.kitFits);
    function filter() {
      for (var i = 0; i < kit.options.length; i++) {
        var o = kit.options[i];
        if (!o.value) continue;
        var ok = (fits[o.value] || []).indexOf(manual.value) >= 0;
        o.hidden = !ok; o.disabled = !ok;
        if (!ok && o.selected) kit.value = "";
      }
    }
    manual.addEventListener("change", filter);
    filter();
  }

  // Step screen: show a failing measurement at once; the server decides again on save.
  function measurementLimits() {
    document.querySelectorAll(".measure").forEach(function (box) {
      var input = box.querySelector("input"), msg = box.querySelector(".limit-msg");
      if (!input || !msg) return;
      var min = box.dataset.min === "" ? null : parseFloat(box.dataset.min);
      var max = box.dataset.max === "" ? null : parseFloat(box.dataset.max);
      function check() {
        var v = parseFloat(input.value.replace(",", ""));
        var bad = input.value.trim() !== "" &&
          (isNaN(v) || (min !== null && v < min) || (max !== null && v > max));
        box.classList.toggle("out-of-limits", bad);
        msg.hidden = !bad;
        var fb = document.querySelector(".failure-box");
        if (fb && document.querySelector(".measure.out-of-limits") !== null) fb.hidden = false;
      }
      input.addEventListener("input", check);
      check();
    });
  }

  // EOL run: poll the run's progress; reload for the full report when it ends.
  function runProgress() {
    var page = document.querySelector("[data-run-status-url]");
    if (!page) return;
    var url = page.dataset.runStatusUrl;
    (function poll() {
      fetch(url, {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (s) {
          var done = s.checks.length, total = s.planned || 1;
          document.getElementById("run-progress").style.width = (100 * done / total) + "%";
          document.getElementById("run-status-line").textContent = done + " / " + (s.planned || "?");
          if (s.finished || done > document.querySelectorAll("#checks .check-row").length) {
            window.location.reload();
          } else { setTimeout(poll, 1000); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    })();
  }

  function start() {
    showProgress(document);
    autoSubmit();
    kitFilter();
    measurementLimits();
    runProgress();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
