"""The credit record (诚信档案) on the web and in JSON: recording an event against a person
named in a household's dossier, the bans shown on the dossier, and the searchable list.

Thin on purpose: ``archive.workflow.credit.record`` validates and keeps the event with the ban the
dossier's city sets; a refusal (CreditError) is a 400 with its message and nothing kept.
ID numbers are masked unless a permitted user asks (``?reveal=1``, ``?unmask=1``; logged).
"""
from __future__ import annotations

import datetime as _dt

from pyramid.httpexceptions import HTTPFound
from pyramid.view import exception_view_config, view_config

from ..access.local import scope
from ..workflow import credit as model
from ..records import filing
from ..schema import idnumber
from .base import actor, can, household_or_404, json_body, plain, schemas, UNMASK
from .errors import answer_405
from .errors import respond
from .workflow import procedure

LIST_LIMIT = 200


def today(request) -> _dt.date:
    return procedure(request).today(filing.now())


def _reveal(request, param, target="credit") -> bool:
    """Unmasked ID numbers: asked for, permitted, and logged once per view."""
    if request.params.get(param) != "1" or not can(request, "view_personal", request.root):
        return False
    request.root.log.append(actor(request), "personal.unmask", target, request.path_qs, filing.now())
    return True


def shown_id(number, unmasked):
    return number if unmasked else idnumber.mask(number)


def people_of(dossier):
    """(index, person, relation code) of the applicant and every member with an ID number."""
    out = []
    for i, person in enumerate(dossier.people()):
        if person.get("id_number"):
            out.append((i, person, "applicant" if i == 0 else person.get("relation", "")))
    return out


def relation_title(request, code):
    if code == "applicant":
        return request.t("申请人")
    vocab = schemas(request).vocabularies.get("relations")
    return vocab.title(code, request.ui_locale) if vocab and code in vocab else code


def dossier_href(request, archive_no, api=False):
    if not archive_no or archive_no not in request.root.households:
        return None
    return request.route_url("api_dossier" if api else "dossier", kind="households", no=archive_no)


# -- what the household page shows ---------------------------------------------------------------
def credit_panel(request, dossier, unmasked=False):
    """Every person of the dossier with a credit event or a ban: active bans first."""
    if dossier.kind != "household":
        return None
    record, day = request.root.credit, today(request)
    people = []
    for _, person, relation in people_of(dossier):
        number = person["id_number"]
        events, bans = record.events(number), record.bans(number)
        if not events and not bans:
            continue
        people.append({"name": person.get("name", ""), "id": shown_id(number, unmasked),
                       "relation": relation_title(request, relation),
                       "active": [b for b in bans if b.active(day)], "bans": list(bans),
                       "events": events})
    people.sort(key=lambda p: not p["active"])
    return {"people": people, "banned": any(p["active"] for p in people), "today": day,
            "reason": lambda code: model.reason_title(code, request.ui_locale),
            "href": lambda no: dossier_href(request, no),
            "can_record": can(request, "credit", dossier)}


# -- recording an event ----------------------------------------------------------------------------
def parse_day(value) -> _dt.date:
    if not isinstance(value, str) or not value.strip():
        raise model.CreditError("请填写认定日期")
    try:
        return _dt.date.fromisoformat(value.strip())
    except ValueError:
        raise model.CreditError(f"认定日期：“{value.strip()[:20]}”不是有效的日期（应为 YYYY-MM-DD）") from None


def text(value, title):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise model.CreditError(f"{title}：应为文本")
    return value.strip()


def record_event(request, dossier, id_number, kind, day, description, evidence):
    """Record the event (refused with the model's message), and log it."""
    profile = procedure(request).profile(dossier)
    when = filing.now()
    event = model.record(request.root, profile, dossier, id_number, text(kind, "失信行为类别"),
                         parse_day(day), text(description, "情况说明"), actor(request), when,
                         evidence=text(evidence, "证据文件"))
    detail = (f"{event.event_id} {idnumber.mask(event.id_number)} {model.reason_title(event.kind)}"
              + (f"，限制申请至 {(event.ban_until - _dt.timedelta(days=1)).isoformat()}"
                 if event.ban_until else "，所在辖区未规定限制申请年限"))
    request.root.log.append(actor(request), "credit.record", dossier.archive_no, detail, when)
    return event


def _form_page(request, dossier, error=None, values=None):
    values = values or {}
    people = [(str(i), f"{p.get('name', '')} · {relation_title(request, rel)} · {idnumber.mask(p['id_number'])}")
              for i, p, rel in people_of(dossier)]
    vocab = schemas(request)["document"]
    documents = [(d.doc_id, f"{d.doc_id} · {vocab.display('doc_type', d.metadata.get('doc_type'), request.ui_locale)}"
                            f" · {d.metadata.get('title', '')}") for d in dossier.active_documents()]
    profile = procedure(request).profile(dossier)
    bans = {}
    for code in model.REASONS:
        years = profile.value(f"bans.{model.ban_category(code)}") if profile is not None else None
        bans[code] = years
    return {"dossier": dossier, "people": people, "documents": documents, "error": error,
            "values": values, "today": today(request).isoformat(),
            "reasons": [(code, model.reason_title(code, request.ui_locale), bans[code])
                        for code in model.REASONS],
            "place": profile.title(request.ui_locale) if profile is not None else ""}


@view_config(route_name="household_credit_new", renderer="archive:templates/credit_new.pt",
             permission="credit")
def credit_new(request):
    """GET: the form; POST: the event recorded, or the form again with the refusal (400)."""
    dossier = household_or_404(request)
    if request.method != "POST":
        return _form_page(request, dossier)
    values = {k: request.POST.get(k, "") for k in ("person", "kind", "day", "description", "evidence")}
    people = {str(i): p for i, p, _ in people_of(dossier)}
    try:
        person = people.get(values["person"])
        if person is None:
            raise model.CreditError("请选择档案中的申请人或共同申请人")
        event = record_event(request, dossier, person["id_number"], values["kind"], values["day"],
                             values["description"], values["evidence"])
    except model.CreditError as exc:
        request.response.status = 400
        return _form_page(request, dossier, str(exc), values)
    if event.ban_until:
        message = request.t("已记录失信行为：{name}，{reason}；限制申请至 {day}", name=event.name,
                            reason=model.reason_title(event.kind, request.ui_locale),
                            day=(event.ban_until - _dt.timedelta(days=1)).isoformat())
    else:
        message = request.t("已记录失信行为：{name}，{reason}（所在辖区未规定限制申请年限）", name=event.name,
                            reason=model.reason_title(event.kind, request.ui_locale))
    request.session.flash(message)
    return HTTPFound(request.route_url("dossier", kind="households", no=dossier.archive_no,
                                       _anchor="credit"))


# -- the list ------------------------------------------------------------------------------------
def _name_of(request, number, events, bans):
    for event in reversed(events):
        if event.name:
            return event.name
    for ban in bans:
        dossier = request.root.households.get(ban.dossier) if ban.dossier else None
        for person in (dossier.people() if dossier is not None else ()):
            if person.get("id_number") == number:
                return person.get("name", "")
    return ""


def _ours(request):
    """Whether an event or ban recorded on dossier ``no`` is shown: always to a global role;
    to a local one (reviewer@qujing) only on a household of its places, so a person, a count
    and a ban from another city never show (archive.access.local)."""
    places, households = scope(request), request.root.households
    if places is None:
        return lambda no: True
    return lambda no: bool(no) and (d := households.get(no)) is not None and places.admits(d)


def search(request, q, active_only):
    """(total, rows) of people with credit events or bans matching ``q`` (name or ID number)."""
    record, day = request.root.credit, today(request)
    q = (q or "").strip()
    number = q.upper() if len(q) == 18 and q[:17].isdigit() else None
    ours = _ours(request)
    rows = []
    for id_number in ([number] if number else record.people()):
        events = [e for e in record.events(id_number) if ours(e.dossier)]
        bans = [b for b in record.bans(id_number) if ours(b.dossier)]
        if not events and not bans:
            continue
        active = [b for b in bans if b.active(day)]
        if active_only and not active:
            continue
        name = _name_of(request, id_number, events, bans)
        if q and not number and q not in name:
            continue
        latest = max([e.day for e in events] + [b.since for b in bans])
        rows.append({"id_number": id_number, "name": name, "events": events, "bans": bans,
                     "active": active, "latest": latest})
    rows.sort(key=lambda r: (not r["active"], -r["latest"].toordinal(), r["name"]))
    return len(rows), rows[:LIST_LIMIT]


@view_config(route_name="credit", renderer="archive:templates/credit.pt", permission="view")
def credit_page(request):
    q = request.params.get("q", "")
    active_only = request.params.get("active") == "1"
    unmasked = _reveal(request, "reveal")
    total, rows = search(request, q, active_only)
    return {"q": q, "active_only": active_only, "total": total, "rows": rows, "limit": LIST_LIMIT,
            "unmasked": unmasked, "today": today(request),
            "can_reveal": can(request, "view_personal", request.root),
            "shown": lambda number: shown_id(number, unmasked),
            "reason": lambda code: model.reason_title(code, request.ui_locale),
            "href": lambda no: dossier_href(request, no)}


# -- JSON ----------------------------------------------------------------------------------------
def event_json(request, event, unmasked):
    return {"event_id": event.event_id, "id_number": shown_id(event.id_number, unmasked),
            "name": event.name, "kind": event.kind,
            "kind_title": model.reason_title(event.kind, request.ui_locale),
            "day": plain(event.day), "description": event.description,
            "archive_no": event.dossier or None, "dossier": dossier_href(request, event.dossier, api=True),
            "evidence": event.evidence or None, "recorded_by": event.recorded_by,
            "recorded_at": plain(event.recorded_at),
            "ban_last_day": plain(event.ban_until - _dt.timedelta(days=1)) if event.ban_until else None}


def ban_json(request, ban, day):
    return {"reason": ban.reason, "reason_title": model.reason_title(ban.reason, request.ui_locale),
            "since": plain(ban.since), "last_day": plain(ban.last_day), "active": ban.active(day),
            "archive_no": ban.dossier or None, "event_id": ban.event_id or None,
            "recorded_by": ban.recorded_by}


@view_config(route_name="api_credit", request_method="GET", renderer="json", permission="view")
def api_list(request):
    """People with credit events or bans: ``?q=`` name or full ID number, ``?active=1``."""
    q = request.params.get("q", "")
    active_only = request.params.get("active") == "1"
    unmasked = _reveal(request, UNMASK)
    total, rows = search(request, q, active_only)
    day = today(request)
    return {"q": q, "active": active_only, "today": plain(day), "unmasked": unmasked,
            "total": total, "limit": LIST_LIMIT,
            "items": [{"name": r["name"], "id_number": shown_id(r["id_number"], unmasked),
                       "banned": bool(r["active"]),
                       "events": [event_json(request, e, unmasked) for e in r["events"]],
                       "bans": [ban_json(request, b, day) for b in r["bans"]]} for r in rows]}


@view_config(route_name="api_household_credit", request_method="POST", renderer="json",
             permission="credit")
def api_record(request):
    """JSON {id_number, kind, day, description, evidence?} → 201 with the event."""
    dossier = household_or_404(request)
    body = json_body(request)
    event = record_event(request, dossier, body.get("id_number"), body.get("kind"), body.get("day"),
                         body.get("description"), body.get("evidence"))
    request.response.status = 201
    request.response.location = request.route_url("api_dossier", kind="households", no=dossier.archive_no)
    day = today(request)
    return {**event_json(request, event, False),
            "bans": [ban_json(request, b, day) for b in request.root.credit.bans(event.id_number)
                     if b.event_id == event.event_id]}


@view_config(route_name="api_credit", require_csrf=False)
@view_config(route_name="api_household_credit", require_csrf=False)
def method_not_allowed(request):
    """405 with Allow, as views/api.py answers for the other API paths."""
    return answer_405(request)


@exception_view_config(model.CreditError)
def credit_refused(exc, request):
    return respond(request, 400, str(exc))
