"""What a browser would send from a page's form: its fields as shown, hidden ones included."""

from __future__ import annotations

from html.parser import HTMLParser


class HTMLForm(HTMLParser):
    """The fields of the page's forms (the one with a ``csrf_token`` is the one of interest).

    Inputs, checked checkboxes, text areas and selects (the option selected, else the first),
    with their values as the browser would send them. Named submit buttons are kept apart in
    ``buttons``: only the one pressed is sent.
    """

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        # A list for the check boxes of one name, several of them checked.
        self.fields: dict[str, str | list[str]] = {}
        self.buttons: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in attrs:
                self.fields[self._select] = value
            return
        if not name:
            return
        kind = attrs.get("type", "text")
        if tag == "input" and kind == "submit":
            self.buttons[name] = attrs.get("value", "")
            return
        if tag == "input" and kind in ("button", "reset"):
            return
        if tag == "input" and kind in ("checkbox", "radio"):
            if "checked" in attrs:
                value = attrs.get("value", "on")
                before = self.fields.get(name)
                if kind == "checkbox" and before is not None:
                    self.fields[name] = [*([before] if isinstance(before, str) else before), value]
                else:
                    self.fields[name] = value
        elif tag == "input":
            self.fields[name] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = ""
        elif tag == "select":
            self._select, self._select_first = name, None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] = str(self.fields[self._textarea]) + data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea:
            # Browsers read CRLF as LF, then drop the one line break that follows <textarea>.
            text = str(self.fields[self._textarea]).replace("\r\n", "\n")
            self.fields[self._textarea] = text.removeprefix("\n")
            self._textarea = None
        elif tag == "select" and self._select:
            if self._select not in self.fields and self._select_first is not None:
                self.fields[self._select] = self._select_first
            self._select = None

    def filled(self, **changes) -> dict[str, str | list[str]]:
        """Return the fields with the user's changes, ready to POST."""
        return {**self.fields, **changes}

    def press(self, client, url, button=None, **changes):
        """Submit the form as shown, with the user's changes, by the button named (or Enter)."""
        data = self.filled(**changes)
        if button:
            data[button] = self.buttons[button]
        return client.post(url, data=data)
