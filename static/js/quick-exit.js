/*
 * Quick exit: the button in the corner of every page, and the Escape key, leave for a neutral page
 * (settings.QUICK_EXIT_URL). Without JavaScript the button is a plain link with rel="noreferrer". With it,
 * leaving:
 *
 * - blanks the page at once, so nothing stays on screen while the neutral page loads;
 * - forgets what this tab remembered (sessionStorage: which content warnings the reader passed);
 * - replaces this page's history entry (location.replace), so Back does not return to it;
 * - notes, for this tab only, that the reader left. If Back or Forward later brings the tab to any archive
 *   page (one visited before this one, say), that page leaves again at once and replaces its own entry too.
 *   Arriving any other way (a link, a typed address) removes the note, so a reader can always come back.
 *
 * Escape is left alone while the reader types in a form field, where it already means something (clearing
 * a search box, closing the input method's candidate list or the browser's suggestions), while a dialog is
 * open, and when another control on the page has already handled the key.
 *
 * Nothing here makes a request: the neutral page is fetched only when the reader leaves.
 */
(function () {
  "use strict";

  var LEFT = "archive.quick-exit.left";
  var NOT_TYPED_IN = /^(?:button|checkbox|color|file|hidden|image|radio|range|reset|submit)$/i;

  var link = document.querySelector("a[data-quick-exit]");
  if (!link) {
    return;
  }
  var destination = link.href;

  function tabStorage() {
    try {
      return window.sessionStorage;
    } catch (error) {
      // Storage can be switched off; leaving must still work.
      return null;
    }
  }

  function leave() {
    var storage = tabStorage();
    if (storage) {
      try {
        storage.clear();
        storage.setItem(LEFT, "1");
      } catch (error) {
        /* Leaving matters more than remembering that we left. */
      }
    }
    if (document.body) {
      document.body.textContent = "";
    }
    window.location.replace(destination);
  }

  function arrivedThroughHistory() {
    if (!window.performance || !window.performance.getEntriesByType) {
      return false;
    }
    var entries = window.performance.getEntriesByType("navigation");
    return entries.length > 0 && entries[0].type === "back_forward";
  }

  function hasLeft() {
    var storage = tabStorage();
    try {
      return Boolean(storage && storage.getItem(LEFT));
    } catch (error) {
      return false;
    }
  }

  if (hasLeft()) {
    if (arrivedThroughHistory()) {
      leave();
      return;
    }
    try {
      tabStorage().removeItem(LEFT);
    } catch (error) {
      /* Nothing to forget. */
    }
  }

  // A page restored from the back-forward cache runs no script again; it only sees pageshow.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && hasLeft()) {
      leave();
    }
  });

  function typingIn(element) {
    if (!element || !element.tagName) {
      return false;
    }
    if (element.isContentEditable) {
      return true;
    }
    var tag = element.tagName.toUpperCase();
    if (tag === "TEXTAREA" || tag === "SELECT") {
      return true;
    }
    return tag === "INPUT" && !NOT_TYPED_IN.test(element.type);
  }

  link.addEventListener("click", function (event) {
    event.preventDefault();
    leave();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" && event.key !== "Esc") {
      return;
    }
    if (event.defaultPrevented || event.isComposing || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    if (typingIn(event.target) || typingIn(document.activeElement) || document.querySelector("dialog[open]")) {
      return;
    }
    event.preventDefault();
    leave();
  });

  // Escape works now, so say so: to assistive technology, and on screens with a keyboard beside them.
  link.setAttribute("aria-keyshortcuts", "Escape");
  var key = link.querySelector(".quick-exit__key");
  if (key) {
    key.hidden = false;
  }
})();
