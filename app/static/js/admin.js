// The admin panel's behaviour that Flask-Admin writes as inline event handlers, which the
// site's Content-Security-Policy does not run: bulk actions, and confirming a row's deletion.
// It acts only on the elements our templates make for it (admin/actions.html and
// admin/model/row_actions.html), found by their class and place, never by a data attribute alone.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var item = event.target.closest(".dropdown-menu > a.js-admin-action");
    if (item && window.modelActions) {
      event.preventDefault();
      window.modelActions.execute(item.dataset.adminAction);
    }
  });

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
    var form = event.target.closest("form.js-confirm-delete");
    if (form && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
