/*
 * Content warning gate. The story body is folded in a native <details> that the reader opens by choosing
 * "Continue to the story"; that works without this file. Here the choice is remembered for this story (and
 * these warnings) in this tab only, so the next part opens without asking again. It lives in
 * sessionStorage, which the browser forgets when the tab closes and the quick exit clears; nothing is sent
 * to the server. A warning added to the story later asks again.
 */
(function () {
  "use strict";

  var KEY = "archive.content-warnings.continued";

  var gate = document.querySelector("details[data-warning-gate]");
  if (!gate) {
    return;
  }
  var id = gate.getAttribute("data-warning-gate");

  function read() {
    try {
      var stored = JSON.parse(window.sessionStorage.getItem(KEY) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch (error) {
      return [];
    }
  }

  function write(ids) {
    try {
      if (ids.length) {
        window.sessionStorage.setItem(KEY, JSON.stringify(ids));
      } else {
        window.sessionStorage.removeItem(KEY);
      }
    } catch (error) {
      /* Without storage the reader is simply asked again on the next part. */
    }
  }

  if (read().indexOf(id) !== -1) {
    gate.open = true;
  }

  gate.addEventListener("toggle", function () {
    var ids = read().filter(function (other) {
      return other !== id;
    });
    if (gate.open) {
      ids.push(id);
    }
    write(ids);
  });
})();
