// sched: the calendar views' enhancements (scheduling/calendar_*.html load it). Every page works
// without it; it adds what only the browser knows: where the time grid opens, the line of the
// present moment to the minute, a link for each quarter hour, the keyboard.
//
// As app.js, it acts only on the elements it owns, found by their class and place with their
// data- attributes, and goes only to paths on this site. The texts it shows are the page's own.
(function () {
  "use strict";

  var SLOTS_PER_DAY = 96; // app/scheduling/calendar.py
  var MINUTES_PER_DAY = 24 * 60;
  var SLOT_MINUTES = MINUTES_PER_DAY / SLOTS_PER_DAY;
  var SLOTS_PER_HOUR = 60 / SLOT_MINUTES;
  var ARROW_STEPS = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };
  var SHORTCUT_KEYS = ["t", "n", "p"];

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

  function plainKey(event) {
    return !(event.altKey || event.ctrlKey || event.metaKey || event.isComposing);
  }

  // --- The week and day views' time grid --------------------------------------------------

  // Open at the slot the page names (the working day, or an earlier appointment), just below
  // the days and the all-day row that stay above it.
  function openAtSlot(grid) {
    var slot = parseInt(grid.dataset.scrollSlot, 10);
    var hours = grid.querySelector(":scope > table > tbody .time-grid");
    var head = grid.querySelector(":scope > table > thead");
    if (isNaN(slot) || !hours || grid.offsetParent === null) {
      return; // a week on a phone lists its days instead
    }
    var top = hours.getBoundingClientRect().top - grid.getBoundingClientRect().top + grid.scrollTop;
    var offset = (hours.offsetHeight * slot) / SLOTS_PER_DAY - (head ? head.offsetHeight : 0);
    grid.scrollTop = Math.max(0, Math.round(top + offset));
  }

  // The server put the line at its quarter hour: move it to the minute, and on as time passes.
  function followTheClock(grid) {
    var line = grid.querySelector(".time-grid > .now-line[data-now-minute]");
    var minute = line ? parseInt(line.dataset.nowMinute, 10) : NaN;
    if (isNaN(minute)) {
      return;
    }
    var loaded = Date.now();
    var place = function () {
      var now = minute + Math.floor((Date.now() - loaded) / 60000);
      if (now >= MINUTES_PER_DAY) {
        line.hidden = true; // the day is over; the next page load draws tomorrow's
        return;
      }
      line.style.top = ((100 * now) / MINUTES_PER_DAY).toFixed(4) + "%";
    };
    place();
    window.setInterval(place, 30000);
  }

  // Each slot links to its whole hour: split it into four, one for each quarter hour. The
  // new links do what the hour's does, for the mouse: screen readers keep the hour's alone.
  function quarterHours(grid) {
    grid.querySelectorAll(".time-grid > a.slot").forEach(function (slot) {
      var path = sitePath(slot.getAttribute("href"));
      if (path === null || !/T\d\d:00$/.test(path)) {
        return;
      }
      for (var quarter = SLOTS_PER_HOUR - 1; quarter > 0; quarter -= 1) {
        var link = document.createElement("a");
        link.className = "slot quarter";
        link.setAttribute("href", path.replace(/:00$/, ":" + quarter * SLOT_MINUTES));
        link.tabIndex = -1;
        link.setAttribute("aria-hidden", "true");
        slot.after(link);
      }
      slot.parentElement.classList.add("quartered");
    });
  }

  var grid = document.querySelector("main .calendar-grid[data-scroll-slot]");
  if (grid) {
    openAtSlot(grid);
    followTheClock(grid);
    quarterHours(grid);
  }

  // --- The month grid: the arrow keys move between days (one of them in the tab order) ----

  function rovingDays(table) {
    var cells = Array.prototype.slice.call(
      table.querySelectorAll(":scope > tbody > tr > td.calendar-day")
    );
    if (cells.length === 0) {
      return;
    }
    var keep = function (current) {
      cells.forEach(function (cell) {
        cell.tabIndex = cell === current ? 0 : -1;
      });
    };
    keep(table.querySelector(":scope > tbody > tr > td.calendar-day[data-focus-start]") || cells[0]);
    table.addEventListener("focusin", function (event) {
      if (cells.indexOf(event.target) >= 0) {
        keep(event.target); // clicked, or reached with Tab: the day the arrows start from
      }
    });
    table.addEventListener("keydown", function (event) {
      var cell = event.target.closest("td.calendar-day");
      var index = cells.indexOf(cell);
      if (index < 0 || event.shiftKey || !plainKey(event)) {
        return;
      }
      var step = ARROW_STEPS[event.key];
      if (event.key === "Home") {
        step = -(index % 7);
      } else if (event.key === "End") {
        step = 6 - (index % 7);
      }
      if (step !== undefined) {
        var next = cells[index + step];
        if (next) {
          event.preventDefault();
          keep(next);
          next.focus();
        }
      } else if (event.key === "Enter" && event.target === cell) {
        var day = cell.querySelector("a.day-number");
        if (day) {
          event.preventDefault();
          go(day.getAttribute("href"));
        }
      }
    });
  }

  var month = document.querySelector("main table.calendar-month[data-roving-grid]");
  if (month) {
    rovingDays(month);
  }

  // --- Shortcuts: t, n and p follow the navigation's links; ? shows them all ---------------

  var nav = document.querySelector("main .calendar-nav");
  var help = document.querySelector("main dialog.shortcut-help");
  var helpButton = nav && nav.querySelector("button.shortcut-help-button");
  var canShowHelp = help !== null && typeof help.showModal === "function";
  if (canShowHelp && helpButton) {
    helpButton.hidden = false;
    helpButton.addEventListener("click", function () {
      help.showModal();
    });
  }

  function typing(target) {
    return (
      target.isContentEditable ||
      target.closest("input, textarea, select, [contenteditable]") !== null
    );
  }

  if (nav) {
    document.addEventListener("keydown", function (event) {
      var target = event.target instanceof Element ? event.target : document.body;
      if (event.defaultPrevented || !plainKey(event) || typing(target) || (help && help.open)) {
        return;
      }
      if (event.key === "?") {
        if (canShowHelp) {
          event.preventDefault();
          help.showModal();
        }
        return;
      }
      if (event.shiftKey || SHORTCUT_KEYS.indexOf(event.key) < 0) {
        return;
      }
      var link = nav.querySelector('a[data-shortcut="' + event.key + '"]');
      if (link) {
        event.preventDefault();
        go(link.getAttribute("href"));
      }
    });
  }
})();
