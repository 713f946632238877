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

  // For calendar.js (loaded after this file, deferred): the same guards, written once.
  Object.defineProperty(window, "sched", {
    value: Object.freeze({ csrfToken: csrfToken, sitePath: sitePath, go: go })
  });

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

  // An all-day appointment has days, not times: while "All day" is ticked, its start and end
  // are date inputs, and their times come back when it is not. The server reads either.
  var allDay = document.querySelector('main form input[type="checkbox"][name="all_day"][data-all-day]');
  var dayForm = allDay && allDay.form;
  var startInput = dayForm && dayForm.querySelector('input[name="start"][data-day-or-time]');
  var endInput = dayForm && dayForm.querySelector('input[name="end"][data-day-or-time]');
  if (startInput && endInput) {
    var dayBefore = function (day) {
      var moment = new Date(day + "T00:00:00Z");
      moment.setUTCDate(moment.getUTCDate() - 1);
      return moment.toISOString().slice(0, 10);
    };
    // What a date and time input held, kept while it shows the date alone.
    var toDay = function (input, day) {
      input.dataset.dateTime = input.value;
      input.dataset.day = day;
      input.type = "date";
      input.value = day;
    };
    var toDateTime = function (input, time) {
      var day = input.value;
      var kept = input.dataset.dateTime;
      input.type = "datetime-local";
      if (kept && day === input.dataset.day) {
        input.value = kept;  // the day was left as it was: the time as it was too
      } else if (day) {
        input.value = day + "T" + ((kept && kept.slice(11)) || time);
      }
    };
    var followAllDay = function () {
      if (allDay.checked && startInput.type !== "date") {
        var firstDay = startInput.value.slice(0, 10);
        var lastDay = endInput.value.slice(0, 10);
        // An end at midnight closes the day before (as the server reads it).
        if (endInput.value.slice(11, 16) === "00:00" && firstDay && lastDay > firstDay) {
          lastDay = dayBefore(lastDay);
        }
        toDay(startInput, firstDay);
        toDay(endInput, lastDay);
      } else if (!allDay.checked && startInput.type === "date") {
        toDateTime(startInput, "09:00");
        toDateTime(endInput, "10:00");
      }
    };
    allDay.addEventListener("change", followAllDay);
    window.addEventListener("pageshow", followAllDay);
    followAllDay();
  }

  // Suggest the browser's time zone on forms that ask for one, unless the user chose already.
  // A browser may name a zone by an old name (ICU keeps CLDR's: Asia/Calcutta), which the
  // select offers by its current one (Asia/Kolkata): data-timezone-links says which.
  var zoneSelect = document.querySelector('form select[name="timezone"][data-suggest-timezone]');
  if (zoneSelect && zoneSelect.value === "UTC" && window.Intl) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var links = {};
    try {
      links = JSON.parse(zoneSelect.dataset.timezoneLinks || "{}");
    } catch (error) {
      links = {};
    }
    if (zone && Object.prototype.hasOwnProperty.call(links, zone)) {
      zone = links[zone];
    }
    var offered = Array.prototype.some.call(zoneSelect.options, function (option) {
      return option.value === zone;
    });
    if (zone && offered) {
      zoneSelect.value = zone;
    }
  }
})();
