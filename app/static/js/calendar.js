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

  // app.js's guards: only paths on this site are followed, and the page's CSRF token.
  var sitePath = window.sched.sitePath;
  var go = window.sched.go;
  var csrfToken = window.sched.csrfToken;

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

  // --- Moving and resizing a box of the time grid: by mouse or pen, or Alt and the arrows ----
  // The page's version of the appointment goes with the new times (views/moves.py): a page
  // older than the appointment is refused (409) and the server's reason shown. The page is
  // then drawn again, from the server; without this script the edit form does the same.

  var DAY_MS = 24 * 60 * 60 * 1000;
  var SLOT_MS = SLOT_MINUTES * 60 * 1000;
  var FOCUS_KEY = "sched.calendar.focus";
  var DRAG_PIXELS = 4; // how far the pointer goes before a press is a drag

  // "2026-05-06T10:15" as a number of milliseconds, counted as if the clock were UTC: the
  // arithmetic of a wall clock, which the server places in the user's zone.
  function wallClock(text) {
    var match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(text || "");
    if (!match) {
      return null;
    }
    return Date.UTC(+match[1], +match[2] - 1, +match[3], +match[4], +match[5]);
  }

  function wallText(ms) {
    return new Date(ms).toISOString().slice(0, 16);
  }

  function sendMove(grid, box, startMs, endMs) {
    var path = sitePath(box.dataset.moveUrl);
    if (path === null) {
      return;
    }
    var body = new URLSearchParams();
    body.set("start", wallText(startMs));
    body.set("end", wallText(endMs));
    body.set("version", box.dataset.version || "");
    try {
      window.sessionStorage.setItem(FOCUS_KEY, path);
    } catch (error) {
      // No storage (a private window, say): the focus starts over after the page is drawn.
    }
    fetch(path, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) {
          throw { reason: answer && answer.error && answer.error.message };
        }
      });
    }).catch(function (failure) {
      window.alert((failure && failure.reason) || grid.dataset.moveError);
    }).then(function () {
      window.location.reload();
    });
  }

  function movableBoxes(grid) {
    grid.querySelectorAll(".time-grid > a.event[data-move-url]").forEach(function (box) {
      if (sitePath(box.dataset.moveUrl) === null) {
        return;
      }
      box.setAttribute("aria-keyshortcuts", "Alt+ArrowUp Alt+ArrowDown Alt+ArrowLeft Alt+ArrowRight");
      box.addEventListener("keydown", function (event) {
        var start = wallClock(box.dataset.start);
        var end = wallClock(box.dataset.end);
        if (!event.altKey || event.ctrlKey || event.metaKey || start === null || end === null) {
          return;
        }
        var step = { ArrowUp: -SLOT_MS, ArrowDown: SLOT_MS, ArrowLeft: -DAY_MS, ArrowRight: DAY_MS };
        var by = step[event.key];
        if (by === undefined) {
          return;
        }
        event.preventDefault();
        if (event.shiftKey) {
          if (Math.abs(by) === SLOT_MS && end + by >= start) {
            sendMove(grid, box, start, end + by);
          }
          return;
        }
        sendMove(grid, box, start + by, end + by);
      });
    });
  }

  function dayColumnAt(x, y) {
    var under = document.elementFromPoint(x, y);
    return under ? under.closest("main .calendar-grid td.day-column[data-day]") : null;
  }

  function dragBoxes(grid) {
    var drag = null;
    grid.addEventListener("pointerdown", function (event) {
      var box = event.target.closest(".time-grid > a.event[data-move-url]");
      var column = box && box.closest("td.day-column[data-day]");
      if (!box || !column || event.button !== 0 || event.pointerType === "touch") {
        return;
      }
      var hours = column.querySelector(".time-grid");
      drag = {
        box: box,
        column: column,
        resize: event.target.closest(".resize-handle") !== null,
        x: event.clientX,
        y: event.clientY,
        slot: hours.offsetHeight / SLOTS_PER_DAY,
        height: box.offsetHeight,
        slots: 0,
        days: 0
      };
      drag.pointer = event.pointerId;
    });
    grid.addEventListener("pointermove", function (event) {
      if (!drag) {
        return;
      }
      if (!drag.started) {
        if (Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y) < DRAG_PIXELS) {
          return; // not yet a drag: a click stays a click
        }
        // The grid follows the pointer; the box lets it through, to find the day under it.
        drag.started = true;
        grid.setPointerCapture(drag.pointer);
        drag.box.classList.add("moving");
      }
      drag.slots = Math.round((event.clientY - drag.y) / drag.slot);
      var target = drag.resize ? null : dayColumnAt(event.clientX, event.clientY);
      drag.days = target ? Math.round(
        (wallClock(target.dataset.day + "T00:00") - wallClock(drag.column.dataset.day + "T00:00")) / DAY_MS
      ) : 0;
      if (drag.resize) {
        drag.slots = Math.max(drag.slots, -Math.floor(drag.height / drag.slot));
        drag.box.style.height = Math.max(drag.height + drag.slots * drag.slot, 4) + "px";
      } else {
        var dx = target ? target.getBoundingClientRect().left - drag.column.getBoundingClientRect().left : 0;
        drag.box.style.transform = "translate(" + dx + "px, " + drag.slots * drag.slot + "px)";
      }
      drag.box.classList.toggle("dragging", drag.slots !== 0 || drag.days !== 0);
    });
    function finish(event) {
      if (!drag) {
        return;
      }
      var done = drag;
      drag = null;
      done.box.classList.remove("moving");
      if (!done.started || event.type === "pointercancel" || (done.slots === 0 && done.days === 0)) {
        done.box.style.transform = "";
        done.box.style.height = "";
        done.box.classList.remove("dragging");
        return;
      }
      done.box.dataset.dragged = "true"; // the click that follows is no visit to its page
      var start = wallClock(done.box.dataset.start);
      var end = wallClock(done.box.dataset.end);
      if (start === null || end === null) {
        return;
      }
      var by = done.slots * SLOT_MS + done.days * DAY_MS;
      if (done.resize) {
        sendMove(grid, done.box, start, Math.max(end + by, start));
      } else {
        sendMove(grid, done.box, start + by, end + by);
      }
    }
    // No link of the grid is dragged away as an address: a box's drag is a move.
    grid.addEventListener("dragstart", function (event) {
      event.preventDefault();
    });
    grid.addEventListener("pointerup", finish);
    grid.addEventListener("pointercancel", finish);
    grid.addEventListener("click", function (event) {
      var box = event.target.closest(".time-grid > a.event[data-dragged]");
      if (box) {
        event.preventDefault();
      }
    });
  }

  var movesGrid = document.querySelector("main .calendar-grid[data-move-error]");
  if (movesGrid) {
    movableBoxes(movesGrid);
    dragBoxes(movesGrid);
    var focused = null;
    try {
      focused = window.sessionStorage.getItem(FOCUS_KEY);
      window.sessionStorage.removeItem(FOCUS_KEY);
    } catch (error) {
      focused = null;
    }
    if (focused) {
      movesGrid.querySelectorAll(".time-grid > a.event[data-move-url]").forEach(function (box) {
        if (sitePath(box.dataset.moveUrl) === focused) {
          box.focus();
        }
      });
    }
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
