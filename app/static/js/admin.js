// The admin panel's behaviour that Flask-Admin writes as inline event handlers, which the
// site's Content-Security-Policy does not run: bulk actions, and confirming a row's deletion.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var item = event.target.closest("[data-admin-action]");
    if (item && window.modelActions) {
      event.preventDefault();
      window.modelActions.execute(item.dataset.adminAction);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
