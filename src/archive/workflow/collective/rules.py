"""A city's rules for employers' collective applications (单位集体申请), from its profile's
``collective`` section: deadlines, the quota methods it allows, who may apply, the documents
an employer's dossier and each member household's dossier must hold.

Compiled once at start-up (``Workflows`` calls ``compile_rules`` for every profile); a
mistake stops start-up with the file and key. A profile without the section has no
collective applications (``None``).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..profiles import ProfileError, _duration
from .quota import METHODS

APPLICANTS = {"employer": ("申请人所在单位", "Employer"),
              "authority": ("行业主管部门", "Sector authority"),
              "park": ("产业园区管委会", "Park committee")}
_KEYS = {"review", "publicity", "proposal", "methods", "applicants", "required_documents",
         "member_documents"}


@dataclass(frozen=True)
class CollectiveRules:
    """What one city says about collective applications (durations as profile durations)."""
    review: dict                  # from the batch's closing day (受理申请截止之日起)
    publicity: dict               # the review result's publicity (审核结果公示期)
    proposal: dict                # from the publicity's end to the proposal (初步分配方案)
    methods: tuple                # quota.METHODS allowed when negotiation fails
    applicants: tuple             # APPLICANTS allowed to apply
    required_documents: tuple     # in the employer's dossier before its review
    member_documents: tuple       # in each member household's dossier before the review


def compile_rules(profile, doc_types) -> CollectiveRules | None:
    raw = profile.data.get("collective")
    if raw is None:
        return None
    where = f"{profile.where}: collective"
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: a mapping of {', '.join(sorted(_KEYS))}")
    unknown = set(raw) - _KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    missing = _KEYS - set(raw) - {"member_documents"}
    if missing:
        raise ProfileError(f"{where}: missing {', '.join(sorted(missing))}")
    durations = {name: _duration(raw[name], f"{where}.{name}") for name in ("review", "publicity", "proposal")}
    lists = {}
    for name, known, kind in (("methods", METHODS, None), ("applicants", APPLICANTS, None),
                              ("required_documents", doc_types, "employer"),
                              ("member_documents", doc_types, "household")):
        values = raw.get(name) or []
        if not isinstance(values, list):
            raise ProfileError(f"{where}.{name}: a list")
        for code in values:
            if code not in known:
                raise ProfileError(f"{where}.{name}: unknown {code!r}")
            if kind and doc_types[code].extra.get("kind") not in (kind, "both"):
                raise ProfileError(f"{where}.{name}: {code!r} is not a {kind} document")
        lists[name] = tuple(values)
    if not lists["methods"] or not lists["applicants"]:
        raise ProfileError(f"{where}: methods and applicants need at least one value each")
    return CollectiveRules(**durations, **lists)
