"""Jurisdiction profiles (辖区规则): one data file per city in ``workflows/jurisdictions/``.

A profile holds what the city's policy text fixes — durations, eligibility thresholds,
lease limits, ban durations, lottery tiers, required documents per stage — and the
workflow reads every rule from it, so a sixth city is a new file and no code.
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass

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

    def limit(self, path: str, household_size: int = 1) -> "Limit | None":
        """The limit at ``path`` for a household of this size; None when the city sets none.

        A limit is a number (the value may reach it: 不高于), ``{below: x}`` / ``{above: x}``
        (strictly: 低于 / 高于), or a table by household size (常州 第十四条(四): assets ≤ 3×,
        4×, 5× last year's disposable income for 1, 2, 3+ persons; 德州 第二十条: 30/45/60 m²)::

            {by_household_size: {1: 3, 2: 4, 3: 5}, times: reference.disposable_income,
             times_title: 上年度城镇居民人均可支配收入, strict: false}

        The largest size listed covers larger households too; ``times`` (a path in this
        profile) multiplies the row. A wrong shape is a ProfileError naming the file and key.
        """
        raw = self.value(path)
        if raw is None:
            return None
        where = f"{self.where}: {path}"
        strict = False
        if isinstance(raw, dict) and set(raw) <= {"below", "above"} and len(raw) == 1:
            strict, (raw,) = True, raw.values()
        if _number(raw):
            return Limit(raw, strict)
        if not isinstance(raw, dict) or not isinstance(raw.get("by_household_size"), dict):
            raise ProfileError(f"{where}: a limit is a number, {{below|above: n}} or "
                               f"{{by_household_size: {{1: n, 2: n, ...}}, times?: path}}")
        unknown = set(raw) - {"by_household_size", "times", "times_title", "strict"}
        if unknown:
            raise ProfileError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        rows = raw["by_household_size"]
        if not rows or any(type(k) is not int or k < 1 or not _number(v) for k, v in rows.items()):
            raise ProfileError(f"{where}.by_household_size: sizes 1, 2, ... each with a number")
        size = max([k for k in rows if k <= max(household_size, 1)] or [min(rows)])
        factor, value = rows[size], rows[size]
        basis = f"{size}人{'及以上' if size == max(rows) and size > 1 else ''}家庭"
        if raw.get("times") is not None:
            base = self.value(raw["times"])
            if not _number(base):
                raise ProfileError(f"{where}.times: {raw['times']} is not a number in this profile")
            value = round(base * factor, 2)
            title = raw.get("times_title") or raw["times"]
            basis += f"为{title} {base:,} 的 {factor:g} 倍"
        return Limit(value, bool(raw.get("strict", strict)), basis)

    def duration(self, name) -> dict | None:
        return self.durations.get(name)

    def required_documents(self, stage) -> tuple:
        return self.documents.get(stage, ())


@dataclass(frozen=True)
class Limit:
    """A limit as it applies to one household: the figure, whether it may be reached, and
    how it was worked out (“2人家庭为…的 4 倍”, empty for a plain figure)."""
    value: float
    strict: bool = False
    basis: str = ""


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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
