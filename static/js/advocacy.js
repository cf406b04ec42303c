/*
 * Campaign pages, enhanced: copy buttons, the country picker, click counts and the newsletter form.
 * Everything here is optional. Without it the letter is plain text to select, every country's
 * addresses are listed, giving and sharing links are counted by the server on the way, and the
 * newsletter is a link to its own sign-up page.
 *
 * Counting sends the name of a counter and nothing else: no text, no cookie (credentials "omit").
 * Copying happens in the browser and does not wait for, or depend on, any request.
 */
(function () {
  "use strict";

  function count(url, kind) {
    if (!url || !kind) {
      return;
    }
    var body = new URLSearchParams();
    body.set("kind", kind);
    try {
      if (window.fetch) {
        window.fetch(url, { method: "POST", body: body, credentials: "omit", keepalive: true, cache: "no-store" })
          .catch(function () {});
      }
    } catch (error) {
      /* A count that cannot be sent is simply not counted. */
    }
  }

  function copyWithSelection(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        if (!copyWithSelection(text)) {
          throw new Error("copy refused");
        }
      });
    }
    return copyWithSelection(text) ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function setUpCopyTools(tools) {
    var status = tools.querySelector("[data-copy-status]");
    tools.hidden = false;
    tools.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source) {
          return;
        }
        copyText(source.textContent.trim()).then(
          function () {
            if (status) {
              status.textContent = tools.getAttribute("data-copied");
            }
            count(button.getAttribute("data-count-url"), button.getAttribute("data-count"));
          },
          function () {
            if (status) {
              status.textContent = tools.getAttribute("data-copy-failed");
            }
          }
        );
      });
    });
  }

  function setUpCountryPicker(picker) {
    var choose = picker.querySelector("[data-country-choose]");
    var select = picker.querySelector("[data-country-select]");
    var groups = picker.querySelectorAll("[data-country]");
    if (!choose || !select) {
      return;
    }
    function show() {
      groups.forEach(function (group) {
        var chosen = group.getAttribute("data-country") === select.value;
        group.hidden = !chosen;
        group.open = chosen;
      });
    }
    choose.hidden = false;
    select.addEventListener("change", show);
    show();
  }

  function setUpInlineSubscribe(form) {
    var link = form.parentNode.querySelector("[data-subscribe-link]");
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    var status = form.querySelector("[data-subscribe-status]");
    if (!window.fetch || !field) {
      return;
    }
    form.hidden = false;
    if (link) {
      link.hidden = true;
    }
    form.addEventListener("submit", function (event) {
      if (field.value) {
        return;
      }
      event.preventDefault();
      // The page is cached and shared, so it holds no token; this request is never cached.
      window.fetch(form.getAttribute("data-token-url"), {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" }
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("no token");
          }
          return response.json();
        })
        .then(function (data) {
          field.value = data.token;
          form.submit();
        })
        .catch(function () {
          if (status) {
            status.textContent = form.getAttribute("data-token-failed");
          }
          if (link) {
            link.hidden = false;
          }
        });
    });
  }

  document.querySelectorAll("[data-copy-tools]").forEach(setUpCopyTools);
  document.querySelectorAll("[data-country-picker]").forEach(setUpCountryPicker);
  document.querySelectorAll("form[data-inline-subscribe]").forEach(setUpInlineSubscribe);
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-count]") : null;
    if (link) {
      count(link.getAttribute("data-count-url"), link.getAttribute("data-count"));
    }
  });
})();
