// The app's only script (the Content-Security-Policy allows no inline script or style).
// Each behaviour starts from data attributes in the page; a page without them runs nothing.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The menu drawer on narrow screens (tablets in portrait).
  function menuDrawer() {
    var toggle = document.getElementById("menu-toggle");
    var nav = document.getElementById("mainnav");
    if (!toggle || !nav) return;
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

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

  // Drill form: offer only the faults the chosen kit can reveal (the server checks again).
  function drillFaultFilter() {
    var kit = document.querySelector("select[data-kit-faults]");
    if (!kit) return;
    function filter() {
      var allowed = JSON.parse(kit.dataset.kitFaults)[kit.value] || [];
      kit.form.querySelectorAll("input[name=faults]").forEach(function (box) {
        var ok = allowed.indexOf(box.value) >= 0;
        var item = box.closest("li") || box.parentNode;
        item.hidden = !ok; box.disabled = !ok;
        if (!ok) box.checked = false;
      });
    }
    kit.addEventListener("change", filter);
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


  // Work a background worker does for a page (evidence bundle, trace check, issuing a
  // certificate): the page marks a box with the status URL's attribute; poll it (JSON with
  // "status", "progress" 0-1 and, once done, perhaps "url"), move the box's progress bar and
  // percentage, and when the work ends go to its result or reload for the server's page.
  var BACKGROUND_WORK = [
    ["data-bundle-status-url", ["ready", "failed", "none"]],
    ["data-trace-status-url", ["done", "failed"]],
    ["data-issue-status-url", ["done", "failed", "none"]],
  ];

  function followWork(box, url, ended) {
    (function poll() {
      fetch(url, {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (s) {
          var percent = Math.round(100 * (s.progress || 0));
          var bar = box.querySelector(".progress-bar");
          if (bar) bar.style.width = percent + "%";
          var figure = box.querySelector("[data-percent]");
          if (figure) figure.textContent = percent;
          if (ended.indexOf(s.status) < 0) { setTimeout(poll, 1000); }
          else if (s.url) { window.location.assign(s.url); }
          else { window.location.reload(); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    })();
  }

  function backgroundWork() {
    BACKGROUND_WORK.forEach(function (work) {
      document.querySelectorAll("[" + work[0] + "]").forEach(function (box) {
        followWork(box, box.getAttribute(work[0]), work[1]);
      });
    });
  }

  // Step screen: what is typed is kept on the tablet (localStorage, per job, step and user) until
  // it is saved, restored when the step is opened again, and the save survives a dropped Wi-Fi:
  // the form is sent in the background and kept when the connection fails. The server refuses a
  // second record for the same save (save_key), so saving again after reconnecting is safe.
  function stepDraft() {
    var form = document.querySelector("form.step-form[data-draft-key]");
    if (!form) return;
    var key = "workshop-draft:" + form.dataset.draftKey;
    var baseSeq = form.dataset.baseSeq;
    var dirty = false, leaving = false;

    function fields() {
      return Array.prototype.filter.call(form.elements, function (el) {
        return el.name && el.type !== "hidden" && el.type !== "submit" && el.type !== "file";
      });
    }
    function read() {
      var values = {};
      fields().forEach(function (el) {
        if (el.type === "checkbox" || el.type === "radio") {
          if (el.checked) (values[el.name] = values[el.name] || []).push(el.value);
        } else {
          (values[el.name] = values[el.name] || []).push(el.value);
        }
      });
      return values;
    }
    var openedAt = form.elements.opened_at, pausedField = form.elements.paused_seconds;
    var pausedSince = null;
    function store() {
      try {
        localStorage.setItem(key, JSON.stringify({
          baseSeq: baseSeq, values: read(), openedAt: openedAt.value,
          paused: parseInt(pausedField.value, 10) || 0, pausedSince: pausedSince
        }));
      } catch (e) { /* storage full or disabled: the form still works */ }
    }
    function forget() { try { localStorage.removeItem(key); } catch (e) { /* ignore */ } }
    function restore() {
      var saved;
      try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
      if (!saved) return;
      if (saved.baseSeq !== baseSeq) { forget(); return; }  // saved since: the draft is old
      // Labour runs from the first opening of the step on this tablet, minus the pauses.
      if (saved.openedAt) openedAt.value = saved.openedAt;
      pausedField.value = String(saved.paused || 0);
      pausedSince = saved.pausedSince || null;
      var seen = {};
      var restored = false;
      fields().forEach(function (el) {
        var list = saved.values[el.name] || [];
        if (el.type === "checkbox" || el.type === "radio") {
          var on = list.indexOf(el.value) >= 0;
          if (on !== el.checked) { el.checked = on; restored = true; }
        } else {
          var i = seen[el.name] || 0; seen[el.name] = i + 1;
          if (i < list.length && list[i] !== "" && el.value !== list[i]) {
            el.value = list[i]; restored = true;
            el.dispatchEvent(new Event("input", {bubbles: true}));
          }
        }
      });
      var note = document.getElementById("draft-restored");
      if (restored && note) note.hidden = false;
    }

    restore();
    store();  // remember when the step was first opened, even before anything is typed
    stepTimer();
    form.addEventListener("input", function () { dirty = true; store(); });
    form.addEventListener("change", function () { dirty = true; store(); });
    // Back / Next / Job keep the draft (it comes back with the step): no question asked.
    document.querySelectorAll("[data-keeps-draft] a").forEach(function (a) {
      a.addEventListener("click", function () { store(); leaving = true; });
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty && !leaving) {
        store();
        event.preventDefault();
        event.returnValue = form.dataset.leaveWarning || "";
        return event.returnValue;
      }
    });

    function endPause() {
      if (pausedSince === null) return;
      var total = (parseInt(pausedField.value, 10) || 0) +
        Math.round((Date.now() - pausedSince) / 1000);
      pausedField.value = String(total);
      pausedSince = null;
    }
    function stepTimer() {
      var box = form.querySelector("[data-step-timer]");
      if (!box) return;
      var pause = box.querySelector("[data-pause]"), resume = box.querySelector("[data-resume]");
      var note = box.querySelector("[data-paused-note]");
      function show() {
        var paused = pausedSince !== null;
        pause.hidden = paused; resume.hidden = !paused; note.hidden = !paused;
      }
      pause.addEventListener("click", function () { pausedSince = Date.now(); store(); show(); });
      resume.addEventListener("click", function () { endPause(); store(); show(); });
      box.hidden = false;
      show();
    }

    var offline = document.getElementById("save-offline");
    var native = false;
    form.addEventListener("submit", function (event) {
      if (native) return;
      event.preventDefault();
      endPause();
      store();
      if (offline) offline.hidden = true;
      var button = form.querySelector("[type=submit]");
      if (button) button.disabled = true;
      fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"})
        .then(function (response) {
          if (response.ok && response.redirected) {
            forget(); leaving = true;
            window.location.assign(response.url);
          } else {
            // Refused (values, limits, a conflict): let the server show the form with its message.
            native = true; leaving = true;
            if (button) button.disabled = false;
            form.submit();
          }
        })
        .catch(function () {
          if (button) button.disabled = false;
          if (offline) {
            offline.classList.add("flash-error");
            offline.hidden = false;
            offline.scrollIntoView({block: "center"});
          }
        });
    });
  }

  // Step screen: photos upload in the background; the form being filled in is never touched.
  function photoUploads() {
    document.querySelectorAll("form[data-photo-upload]").forEach(function (form) {
      var section = form.closest(".photo-input");
      var status = section && section.querySelector(".photo-status");
      var input = form.querySelector("input[type=file]");
      var key = form.querySelector("input[name=input_key]").value;
      function say(text, bad) {
        if (!status) return;
        status.textContent = text;
        status.className = "photo-status flash " + (bad ? "flash-error" : "flash-success");
        status.hidden = false;
      }
      function send() {
        if (!input.files.length) return;
        say(form.dataset.uploading, false);
        fetch(form.action, {
          method: "POST", body: new FormData(form), credentials: "same-origin",
          headers: {"Accept": "application/json"}
        })
          .then(function (response) { return response.json(); })
          .then(function (answer) {
            say(answer.message, !answer.ok);
            if (!answer.ok) return;
            input.value = "";
            var thumbs = section.querySelector("[data-thumbs]");
            thumbs.textContent = "";
            answer.thumbnails.forEach(function (url) {
              var img = document.createElement("img");
              img.src = url; img.width = 120; img.alt = "";
              thumbs.appendChild(img);
            });
            document.querySelectorAll("[data-photo-count='" + key + "']").forEach(function (el) {
              el.textContent = answer.count;
            });
          })
          .catch(function () { say(form.dataset.offline, true); });
      }
      form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
    });
  }

  function start() {
    menuDrawer();
    showProgress(document);
    autoSubmit();
    kitFilter();
    drillFaultFilter();
    measurementLimits();
    photoUploads();
    stepDraft();
    runProgress();
    backgroundWork();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
