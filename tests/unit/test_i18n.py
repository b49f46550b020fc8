"""Every interface string has an English entry, so switching language never shows a mix."""
import pathlib
import re

from archive.i18n import Catalog

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "archive"
CALLS = [re.compile(r"""\bt\(\s*'([^']+)'"""), re.compile(r'''\bt\(\s*"([^"]+)"'''),
         re.compile(r'''make_form\(request, schema, "([^"]+)"''')]


def used_strings():
    found = set()
    for path in list((SRC / "templates").glob("*.pt")) + list((SRC / "views").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for call in CALLS:
            found |= set(call.findall(text))
    return found


def test_every_ui_string_has_english():
    catalog = Catalog()
    missing = sorted(s for s in used_strings() if s not in catalog.en)
    assert len(used_strings()) > 50
    assert missing == []


def test_translation_fills_placeholders():
    catalog = Catalog()
    assert catalog.translate("第 {n} 版", "en", n=3) == "Version 3"
    assert catalog.translate("第 {n} 版", "zh", n=3) == "第 3 版"
