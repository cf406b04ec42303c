/* The part form in the back office: a photo that is waiting or being processed by the task worker shows its
   progress as the worker writes it, and then its clean copy, without reloading the form (and losing edits).
   It asks again for this same page every few seconds, while something is still waiting, and takes the new
   state of each photo from it; it stops when nothing is left to wait for, or after ten minutes. */
(function () {
  "use strict";
  var PENDING = '[data-photo][data-state="waiting"], [data-photo][data-state="processing"]';
  var EVERY_MS = 3000;
  var GIVE_UP_AFTER_MS = 10 * 60 * 1000;
  var started = Date.now();

  function pending() {
    return document.querySelectorAll(PENDING);
  }

  function refresh() {
    if (!pending().length || Date.now() - started > GIVE_UP_AFTER_MS) {
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        pending().forEach(function (element) {
          var photo = element.getAttribute("data-photo");
          var replacement = fresh.querySelector('[data-photo="' + CSS.escape(photo) + '"]');
          if (replacement) {
            element.replaceWith(document.importNode(replacement, true));
          }
        });
        window.setTimeout(refresh, EVERY_MS);
      })
      .catch(function () {
        window.setTimeout(refresh, EVERY_MS * 4);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    window.setTimeout(refresh, EVERY_MS);
  });
})();
