// The admin panel's behaviour that Flask-Admin writes as inline event handlers, which the
// site's Content-Security-Policy does not run, and what Django's admin adds to a list: bulk
// actions, confirming a row's deletion, and "Select all N" rows that match the list's search
// and filters. It acts only on the elements our templates make for it (admin/actions.html,
// admin/model/row_actions.html, admin/sched/list.html): their data- attributes and classes.
(function () {
  "use strict";

  // Flask-Admin's filter script (admin/js/bs4_filters.js) starts Bootstrap 4's jQuery tooltips
  // on elements that our pages never have ([data-role=tooltip]) as soon as it runs; Bootstrap 5
  // adds its jQuery plugins only once the page has loaded. Until then, a tooltip that does
  // nothing keeps that script from stopping before it draws the filters.
  if (window.jQuery && !window.jQuery.fn.tooltip) {
    window.jQuery.fn.tooltip = function () { return this; };
  }

  document.addEventListener("click", function (event) {
    var item = event.target.closest(".dropdown-menu > a.js-admin-action[data-admin-action]");
    if (item && window.modelActions) {
      event.preventDefault();
      window.modelActions.execute(item.dataset.adminAction);
      return;
    }
    // The filter menu's items and its rows' remove buttons, links that Flask-Admin's script
    // handles: never followed to "#".
    if (event.target.closest(".field-filters > a.filter, #filter_form a.remove-filter")) {
      event.preventDefault();
    }
  });

  // "Select all N": offered once every row of the page is selected; chosen, the action form
  // says so (select_across), and the server applies the action to every matching row.
  var across = document.querySelector("[data-select-across]");
  var acrossField = document.querySelector("#action_form [data-select-across-field]");
  function showSelectAcross() {
    if (!across || !acrossField) { return; }
    var boxes = document.querySelectorAll("table.model-list input.action-checkbox");
    var all = boxes.length > 0 && Array.prototype.every.call(boxes, function (box) { return box.checked; });
    across.classList.toggle("d-none", !all);
    if (!all) {
      acrossField.value = "0";
      across.querySelector("[data-select-across-button]").classList.remove("d-none");
      across.querySelector("[data-select-across-page]").classList.remove("d-none");
      across.querySelector("[data-select-across-done]").classList.add("d-none");
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("table.model-list input.action-checkbox, table.model-list input.action-rowtoggle")) {
      // After Flask-Admin's own handler has ticked or cleared the page's rows.
      window.setTimeout(showSelectAcross, 0);
    }
  });
  if (across && acrossField) {
    across.querySelector("[data-select-across-button]").addEventListener("click", function (event) {
      acrossField.value = "1";
      event.currentTarget.classList.add("d-none");
      across.querySelector("[data-select-across-page]").classList.add("d-none");
      across.querySelector("[data-select-across-done]").classList.remove("d-none");
    });
  }

  // What Flask-Admin's scripts draw without a name, once they have drawn it:
  // - select2's "×" on each item of a multiple choice, for the mouse (Backspace in the field
  //   removes one), and without text: hidden from assistive technology, as from the Tab key;
  // - the value field of each list filter (admin/js/bs4_filters.js): named after its filter,
  //   the text of the row's remove button.
  function nameWhatScriptsDrew() {
    document.querySelectorAll(".select2-search-choice > a.select2-search-choice-close:not([aria-hidden])")
      .forEach(function (link) { link.setAttribute("aria-hidden", "true"); });
    document.querySelectorAll("form#filter_form table.filters tr").forEach(function (row) {
      var remove = row.querySelector("a.remove-filter");
      var name = remove ? remove.textContent.replace("\u00d7", "").trim() : "";
      row.querySelectorAll("input.filter-val:not([type=hidden]):not([aria-label])").forEach(function (field) {
        field.setAttribute("aria-label", name);
      });
    });
  }
  new MutationObserver(nameWhatScriptsDrew).observe(document.body, { childList: true, subtree: true });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form.js-confirm-delete[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
