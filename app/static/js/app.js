// sched: small progressive enhancements. Every message shown here comes translated from the
// server, in data attributes.
//
// The script acts only on the elements it owns, found by their class and place (never by a data
// attribute alone, which text put into a page could carry), and it goes only to paths on this
// site: a URL it reads from the page that points elsewhere is ignored.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('head > meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // The URL as a path on this site, or null: another host, javascript:, data: ... are refused.
  function sitePath(value) {
    if (typeof value !== "string" || value === "") {
      return null;
    }
    var url;
    try {
      url = new URL(value, window.location.href);
    } catch (error) {
      return null;
    }
    if (url.origin !== window.location.origin) {
      return null;
    }
    return url.pathname + url.search + url.hash;
  }

  function go(value) {
    var path = sitePath(value);
    if (path !== null) {
      window.location.assign(path);
    }
  }

  // Delete buttons send an HTTP DELETE with the CSRF token in a header, to this site only.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.js-delete-appointment");
    if (!button) {
      return;
    }
    event.preventDefault();
    var url = sitePath(button.dataset.deleteUrl);
    if (url === null || !window.confirm(button.dataset.confirm)) {
      return;
    }
    button.disabled = true;
    fetch(url, {
      method: "DELETE",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok || body.status !== "OK") {
          // The server's own reason (already in the user's language), if it gave one.
          throw { reason: body && body.error && body.error.message };
        }
        go(button.dataset.redirect);
      });
    }).catch(function (failure) {
      // A network error or a page that is not JSON has no reason of ours: the generic text.
      button.disabled = false;
      window.alert((failure && failure.reason) || button.dataset.error);
    });
  });

  // A click on the empty part of a day in the month view starts a new appointment that day.
  document.addEventListener("click", function (event) {
    var cell = event.target.closest("table.calendar-month > tbody > tr > td.calendar-day");
    if (cell && !event.target.closest("a, button, input")) {
      go(cell.dataset.createUrl);
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

  // On an occurrence's edit form "Only this one" changes no repeat (the server ignores the
  // repeat fields then): they are disabled while it is chosen, so that no change to them is
  // made in vain. They are sent all the same, so that a form shown again keeps them.
  var repeatFields = document.querySelector("main form fieldset.repeat");
  var scopeForm = repeatFields && repeatFields.form;
  if (scopeForm && scopeForm.querySelector('input[type="radio"][name="scope"]')) {
    var followScope = function () {
      var chosen = scopeForm.querySelector('input[type="radio"][name="scope"]:checked');
      repeatFields.disabled = chosen !== null && chosen.value === "this";
    };
    scopeForm.addEventListener("change", function (event) {
      if (event.target.name === "scope") {
        followScope();
      }
    });
    scopeForm.addEventListener("submit", function () {
      repeatFields.disabled = false;
    });
    window.addEventListener("pageshow", followScope);
    followScope();
  }

  // Suggest the browser's time zone on forms that ask for one, unless the user chose already.
  var zoneSelect = document.querySelector('form select[name="timezone"][data-suggest-timezone]');
  if (zoneSelect && zoneSelect.value === "UTC" && window.Intl) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var offered = Array.prototype.some.call(zoneSelect.options, function (option) {
      return option.value === zone;
    });
    if (zone && offered) {
      zoneSelect.value = zone;
    }
  }
})();
