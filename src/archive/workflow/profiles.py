"""Jurisdiction profiles (辖区规则): one data file per city in ``workflows/jurisdictions/``.

A profile holds what the city's policy text fixes — durations, eligibility thresholds,
lease limits, ban durations, lottery tiers, required documents per stage — and the
workflow reads every rule from it, so a sixth city is a new file and no code.
"""
from __future__ import annotations

import pathlib

import yaml

from .workdays import UNITS

REQUIRED_KEYS = ("code", "title", "region", "fonds", "durations", "required_documents")


class ProfileError(Exception):
    """A profile file is wrong; raised at start-up with the file and the key."""


class Profile:
    """One city's rules, read-only after loading."""

    def __init__(self, data: dict, where: str):
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise ProfileError(f"{where}: missing {', '.join(missing)}")
        self.where = where
        self.data = data
        self.code = str(data["code"])
        self.titles = dict(data["title"])
        self.region, self.fonds = str(data["region"]), str(data["fonds"])
        self.durations = {name: _duration(spec, f"{where}: durations.{name}")
                          for name, spec in (data["durations"] or {}).items()}
        self.documents = {stage: tuple(codes or ())
                          for stage, codes in (data["required_documents"] or {}).items()}

    def title(self, locale="zh"):
        return self.titles.get(locale) or self.titles.get("zh") or self.code

    def value(self, path: str, default=None):
        """A rule by dotted path (``eligibility.income_per_capita_max``); None means unset."""
        node = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or node.get(part) is None:
                return default
            node = node[part]
        return node

    def duration(self, name) -> dict | None:
        return self.durations.get(name)

    def required_documents(self, stage) -> tuple:
        return self.documents.get(stage, ())


def _duration(spec, where):
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ProfileError(f"{where}: a duration is one of {{working_days|days|months|years: n}}")
    (unit, n), = spec.items()
    if unit not in UNITS or not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ProfileError(f"{where}: a duration is one of {{working_days|days|months|years: n}}")
    return {unit: n}


class Profiles:
    """Every jurisdiction's profile, by code, in file-name order."""

    def __init__(self, directory):
        self.directory = pathlib.Path(directory)
        files = sorted(self.directory.glob("*.yaml"))
        if not files:
            raise ProfileError(f"{self.directory}: no jurisdiction profiles")
        self._by_code = {}
        for path in files:
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as exc:
                raise ProfileError(f"{path.name}: {exc}") from None
            profile = Profile(data, path.name)
            if profile.code in self._by_code:
                raise ProfileError(f"{path.name}: jurisdiction {profile.code!r} defined twice")
            self._by_code[profile.code] = profile

    def __getitem__(self, code) -> Profile:
        return self._by_code[code]

    def get(self, code, default=None):
        return self._by_code.get(code, default)

    def __iter__(self):
        return iter(self._by_code.values())

    def __contains__(self, code):
        return code in self._by_code

    def terms(self):
        """The jurisdictions vocabulary: code, titles, region code and 全宗号."""
        return [{"code": p.code, "zh": p.title("zh"), "en": p.title("en"),
                 "region": p.region, "fonds": p.fonds} for p in self]
