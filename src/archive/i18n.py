"""The UI's languages: Chinese by default, English available.

Interface strings are written in Chinese in the templates and views and looked up in
``locale/en.yaml`` for English; colander's and deform's own messages use their gettext
catalogs (zh_Hans). A missing English entry shows the Chinese text rather than failing.
"""
from __future__ import annotations

import pathlib

import yaml

CATALOG_DIR = pathlib.Path(__file__).parent / "locale"
LOCALE_NAMES = {"zh": "zh_Hans", "en": "en"}


class Catalog:
    """Chinese text -> English text."""

    def __init__(self, path=CATALOG_DIR / "en.yaml"):
        with open(path, encoding="utf-8") as fh:
            self.en = yaml.safe_load(fh) or {}

    def translate(self, text, locale, **mapping):
        out = self.en.get(text, text) if locale == "en" else text
        return out.format(**mapping) if mapping else out


def negotiate_locale(request):
    """``?_LOCALE_=`` or the ``_LOCALE_`` cookie (set by /locale/en); undecodable input
    falls back to the default instead of failing the error page that reports it."""
    try:
        chosen = request.params.get("_LOCALE_")
    except UnicodeDecodeError:
        chosen = None
    chosen = chosen or request.cookies.get("_LOCALE_")
    return chosen if chosen in LOCALE_NAMES.values() else None


def ui_locale(request) -> str:
    """'en' or 'zh' for our own strings, from Pyramid's negotiated locale."""
    return "en" if (request.locale_name or "").startswith("en") else "zh"


def translator(request):
    """``request.t('首页')``: the string in the request's language."""
    catalog = request.registry.archive_catalog
    locale = ui_locale(request)
    return lambda text, **mapping: catalog.translate(text, locale, **mapping)
