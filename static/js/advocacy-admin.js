// The campaign form, enhanced: each action shows only the fields of its kind, and a post for X shows how
// X counts it. Without this script every field is shown and the server checks the count on saving
// (advocacy.sharing.x_post_length, which xPostLength below mirrors; tests/browser/test_campaign_editor.py
// checks that both agree).
(function () {
  "use strict";

  // --- Counting as X does: twitter-text version 3, as advocacy/sharing.py does it ---------------------

  // Python's str.isspace(): what strip(), \s and \S mean on the server (JavaScript's \s differs).
  var SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
  var LINE_BREAKS = /\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]/u;
  var CONTROL = /[\p{Cc}\p{Cf}]/u;
  var KEPT = "\t\u200c\u200d";
  var LEADING = new RegExp("^[" + SPACE + "]+", "u");
  var TRAILING = new RegExp("[" + SPACE + "]+$", "u");
  var SCHEME_URL = new RegExp("https?://[^" + SPACE + "]+", "giu");
  // Python's \w on text: letters, numbers and the underscore of every script.
  var WORD = "\\p{L}\\p{N}_";
  var BARE_DOMAIN = new RegExp(
    "(?<![" + WORD + "@.\\-])[" + WORD + "\\-]+(?:\\.[" + WORD + "\\-]+)*\\.[a-z]{2,}(?:/[^" + SPACE + "]*)?",
    "giu"
  );
  var LIGHT_RANGES = [[0x0000, 0x10ff], [0x2000, 0x200d], [0x2010, 0x201f], [0x2032, 0x2037]];
  var LINK_LENGTH = 23;

  function multiline(text) {
    var lines = (text || "").replace(LEADING, "").replace(TRAILING, "").split(LINE_BREAKS);
    return lines
      .map(function (line) {
        var kept = "";
        for (var char of line) {
          if (KEPT.indexOf(char) !== -1 || !CONTROL.test(char)) kept += char;
        }
        return kept.replace(TRAILING, "");
      })
      .join("\n");
  }

  function weigh(text) {
    var weight = 0;
    for (var char of text) {
      var point = char.codePointAt(0);
      var light = LIGHT_RANGES.some(function (range) {
        return range[0] <= point && point <= range[1];
      });
      weight += light ? 1 : 2;
    }
    return weight;
  }

  function weighBare(text) {
    var total = 0;
    var position = 0;
    for (var match of text.matchAll(BARE_DOMAIN)) {
      total += weigh(text.slice(position, match.index)) + Math.max(weigh(match[0]), LINK_LENGTH);
      position = match.index + match[0].length;
    }
    return total + weigh(text.slice(position));
  }

  function xWeightedLength(text) {
    text = (text || "").normalize("NFC");
    var total = 0;
    var position = 0;
    for (var match of text.matchAll(SCHEME_URL)) {
      total += weighBare(text.slice(position, match.index)) + LINK_LENGTH;
      position = match.index + match[0].length;
    }
    return total + weighBare(text.slice(position));
  }

  // The text, a space and the campaign link, as X sees the post our intent link opens.
  function xPostLength(text) {
    return xWeightedLength(multiline(text)) + 1 + LINK_LENGTH;
  }

  window.advocacyAdmin = { xPostLength: xPostLength, multiline: multiline };

  // --- The live count under each post ---------------------------------------------------------------

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return name in values ? String(values[name]) : whole;
    });
  }

  function counter(textarea) {
    if (textarea.dataset.xCounter) return;
    textarea.dataset.xCounter = "on";
    var output = document.createElement("p");
    // "help" aligns it with the field, under it, as the admin aligns a field's help text.
    output.className = "help x-count";
    output.setAttribute("aria-live", "polite");
    output.id = textarea.id + "_xcount";
    textarea.setAttribute("aria-describedby", ((textarea.getAttribute("aria-describedby") || "") + " " + output.id).trim());
    // Under the field, above its help text: the admin lays the field and its neighbours out in a row.
    (textarea.closest(".flex-container") || textarea).insertAdjacentElement("afterend", output);
    var limit = Number(textarea.dataset.xLimit);
    function update() {
      var count = xPostLength(textarea.value);
      var over = count - limit;
      output.classList.toggle("x-count--over", over > 0);
      var message = over > 1 ? textarea.dataset.xOver : over === 1 ? textarea.dataset.xOverOne : textarea.dataset.xFits;
      output.textContent = format(message, {
        count: count,
        limit: limit,
        over: over,
        left: -over,
      });
    }
    textarea.addEventListener("input", update);
    update();
  }

  // --- Only the fields of the chosen kind -----------------------------------------------------------

  function rowsOf(container, name) {
    var own = new RegExp("^field-" + name + "(_[a-z]{2}(_[a-z]+)?)?$");
    return Array.prototype.filter.call(container.querySelectorAll(".form-row, div[class*='field-']"), function (row) {
      return Array.prototype.some.call(row.classList, function (cls) {
        return own.test(cls);
      });
    });
  }

  function showKind(select) {
    var container = select.closest(".inline-related") || select.form;
    if (!container) return;
    var fields = JSON.parse(select.dataset.kindFields);
    var kind = select.value;
    Object.keys(fields).forEach(function (name) {
      // An action with no kind chosen yet shows every field.
      var shown = !kind || fields[name].indexOf(kind) !== -1;
      rowsOf(container, name).forEach(function (row) {
        // Translated fields sit in language tabs: hide the tabs with the field.
        // A class, not the hidden attribute, which the admin's display rules override. The language tabs
        // modeltranslation builds around a translated field (whenever its own script runs) go with it, by CSS.
        row.classList.toggle("kind-hidden", !shown);
      });
    });
  }

  function enhance() {
    document.querySelectorAll("select[data-kind-fields]").forEach(function (select) {
      if (select.name.indexOf("__prefix__") !== -1) return;
      showKind(select);
      if (!select.dataset.kindWatched) {
        select.dataset.kindWatched = "on";
        select.addEventListener("change", function () {
          showKind(select);
        });
      }
    });
    document.querySelectorAll("textarea[data-x-count]").forEach(function (textarea) {
      if (textarea.name.indexOf("__prefix__") === -1) counter(textarea);
    });
  }

  document.addEventListener("DOMContentLoaded", enhance);
  // The language tabs are built when the page has loaded; an action added with "Add another" comes later.
  window.addEventListener("load", enhance);
  document.addEventListener("formset:added", enhance);
})();
