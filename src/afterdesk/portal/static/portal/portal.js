// Customer portal behaviour. No inline script anywhere (CSP script-src 'self').
(function () {
  "use strict";

  // One tap sends a form once: slow mobile uploads invite a second tap, and a second case.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    if (form.dataset.sending === "1") { event.preventDefault(); return; }
    form.dataset.sending = "1";
    form.querySelectorAll("button[type=submit][data-busy-label]").forEach(function (button) {
      button.textContent = button.dataset.busyLabel;
      button.setAttribute("aria-busy", "true");
      // Disable after the browser has read the form, so the submission itself is not affected.
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  });

  // Coming back with the Back button shows the page from the cache: make its forms usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-sending]").forEach(function (form) {
      delete form.dataset.sending;
      form.querySelectorAll("button[aria-busy]").forEach(function (button) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
      });
    });
  });

  // "Copy" buttons copy the text of the element they name (the service number).
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.querySelector(button.dataset.copy);
      if (!source) { return; }
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = button.dataset.copiedLabel;
      });
    });
  });
})();
