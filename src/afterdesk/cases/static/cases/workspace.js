/* Afterdesk agent workspace: keyboard shortcuts, row selection, reply templates.
 * A static file because the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";

  var current = -1;

  function isTyping(element) {
    if (!element) { return false; }
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function helpBox() { return document.getElementById("shortcut-help"); }

  function toggleHelp(show) {
    var box = helpBox();
    if (!box) { return; }
    var open = typeof show === "boolean" ? show : box.hidden;
    box.hidden = !open;
    document.querySelectorAll("[data-help-toggle][aria-controls]").forEach(function (button) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
    if (open) {
      var close = box.querySelector("button");
      if (close) { close.focus(); }
    }
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("tr.queue-row")); }

  function moveTo(index) {
    var all = rows();
    if (!all.length) { return; }
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) { row.classList.toggle("current", i === current); });
    var row = all[current];
    var link = row.querySelector("a.case-link");
    if (link) { link.focus({ preventScroll: true }); }
    row.scrollIntoView({ block: "nearest" });
  }

  function currentRow() {
    var all = rows();
    return current >= 0 && current < all.length ? all[current] : null;
  }

  function compose(visibility) {
    var form = document.getElementById("reply-form");
    if (!form) { return; }
    var radio = form.querySelector('input[name="visibility"][value="' + visibility + '"]');
    if (radio) { radio.checked = true; }
    var body = form.querySelector("textarea");
    if (body) {
      body.focus();
      body.scrollIntoView({ block: "center" });
    }
  }

  function follow(selector) {
    var link = document.querySelector(selector);
    if (link && link.href) { window.location.assign(link.href); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var box = helpBox();
    if (event.key === "Escape") {
      if (box && !box.hidden) { toggleHelp(false); event.preventDefault(); }
      else if (isTyping(event.target)) { event.target.blur(); }
      return;
    }
    if (isTyping(event.target)) { return; }
    var handled = true;
    switch (event.key) {
      case "/": {
        var search = document.querySelector("[data-shortcut-target='/']");
        if (search) { search.focus(); search.select(); }
        break;
      }
      case "?": toggleHelp(); break;
      case "c": follow("a[data-shortcut='c']"); break;
      case "g": follow("a[data-shortcut='g']"); break;
      case "j": moveTo(current + 1); break;
      case "k": moveTo(current < 0 ? 0 : current - 1); break;
      case "x": {
        var row = currentRow();
        var box2 = row && row.querySelector("input[type=checkbox]");
        if (box2) { box2.checked = !box2.checked; }
        break;
      }
      case "Enter": {
        var open = currentRow();
        if (open && event.target.tagName !== "A" && event.target.tagName !== "BUTTON") {
          window.location.assign(open.getAttribute("data-href"));
        } else { handled = false; }
        break;
      }
      case "r": compose("public"); break;
      case "n": compose("internal"); break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-help-toggle]")) { toggleHelp(); return; }
    var box = helpBox();
    if (box && !box.hidden && event.target === box) { toggleHelp(false); }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      var form = target.form || target.closest("form");
      if (!form) { return; }
      form.querySelectorAll('input[type=checkbox][name="cases"]').forEach(function (box) {
        box.checked = target.checked;
      });
      return;
    }
    if (target.matches("select[data-template-url]") && target.value) {
      insertTemplate(target);
    }
  });

  function insertTemplate(select) {
    var url = select.getAttribute("data-template-url").replace(/\/0$/, "/" + select.value);
    var area = document.getElementById(select.getAttribute("data-insert-into"));
    if (!area) { return; }
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/plain" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response); })
      .then(function (text) {
        var start = area.selectionStart || 0;
        var end = area.selectionEnd || 0;
        var before = area.value.slice(0, start);
        var after = area.value.slice(end);
        area.value = before + text + after;
        area.selectionStart = area.selectionEnd = before.length + text.length;
        area.dispatchEvent(new Event("input", { bubbles: true }));
        area.focus();
        select.value = "";
      })
      .catch(function () { select.value = ""; });
  }

  document.addEventListener("htmx:afterSwap", function () { current = -1; });
})();
