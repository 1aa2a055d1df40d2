"""Reading the emulator's hosted pages the way a browser without JavaScript would."""

import html.parser
import urllib.parse

class _Forms(html.parser.HTMLParser):
    """Collects the forms of a page: action, method, fields and the text of their buttons."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._current = None
        self._in_button = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._current = {"action": a.get("action", ""), "method": (a.get("method") or "get").lower(),
                             "fields": [], "text": ""}
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "button", "select", "textarea"):
            kind = (a.get("type") or "").lower()
            if tag == "button":
                self._in_button = True
                self._current["text"] += " " + (a.get("value") or "")
            if tag == "input" and kind in ("submit", "button"):
                self._current["text"] += " " + (a.get("value") or "")
            if "name" not in a:
                return
            if tag == "button" or kind == "submit":
                # Only the clicked button is sent; each challenge form has a single one.
                self._current.setdefault("button", (a["name"], a.get("value") or ""))
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._current["fields"].append((a["name"], a.get("value") or "on"))
            else:
                self._current["fields"].append((a["name"], a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        if tag == "button":
            self._in_button = False

    def handle_data(self, data):
        if self._current is not None and self._in_button:
            self._current["text"] += " " + data


def forms_of(page_url, body):
    """The page's forms with absolute actions."""
    parser = _Forms()
    parser.feed(body)
    for form in parser.forms:
        form["action"] = urllib.parse.urljoin(page_url, form["action"] or page_url)
        form["text"] = form["text"].strip().lower()
    return parser.forms


def submit(http, form):
    data = list(form["fields"])
    if "button" in form:
        data.append(form["button"])
    return http.request(form["method"].upper(), form["action"], data=data, allow_redirects=False)
