// sched: small progressive enhancements. Every message shown here comes translated from the
// server, in data attributes.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // Delete buttons send an HTTP DELETE with the CSRF token in a header.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-delete-url]");
    if (!button) {
      return;
    }
    event.preventDefault();
    if (!window.confirm(button.dataset.confirm)) {
      return;
    }
    button.disabled = true;
    fetch(button.dataset.deleteUrl, {
      method: "DELETE",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok || body.status !== "OK") {
          // The server's own reason (already in the user's language), if it gave one.
          throw { reason: body && body.error && body.error.message };
        }
        window.location.assign(button.dataset.redirect);
      });
    }).catch(function (failure) {
      // A network error or a page that is not JSON has no reason of ours: the generic text.
      button.disabled = false;
      window.alert((failure && failure.reason) || button.dataset.error);
    });
  });

  // A click on the empty part of a day in the month view starts a new appointment that day.
  document.addEventListener("click", function (event) {
    var cell = event.target.closest("[data-create-url]");
    if (cell && !event.target.closest("a, button, input")) {
      window.location.assign(cell.dataset.createUrl);
    }
  });

  // The week and day views open at 7 in the morning, or earlier when an appointment starts earlier.
  var grid = document.querySelector(".calendar-grid");
  if (grid) {
    var first = grid.querySelector(".event");
    var seven = grid.querySelectorAll(".hour-label")[7];
    var target = first && (!seven || first.offsetTop < seven.offsetTop) ? first : seven;
    if (target) {
      grid.scrollTop = Math.max(target.offsetTop - 16, 0);
    }
  }

  // Suggest the browser's time zone on forms that ask for one, unless the user chose already.
  var zoneSelect = document.querySelector('select[data-suggest-timezone]');
  if (zoneSelect && zoneSelect.value === "UTC" && window.Intl) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && zoneSelect.querySelector('option[value="' + zone + '"]')) {
      zoneSelect.value = zone;
    }
  }
})();
