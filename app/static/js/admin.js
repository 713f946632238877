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

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form.js-confirm-delete");
    if (form && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
