"""The lottery (摇号) for people and for the JSON API: hold one, list them, show and verify one.

Views are thin: they read the batch, call ``archive.workflow.lottery.draw.hold_lottery`` and render; a
refusal (LotteryError) becomes a 422 with the model's message, and nothing is stored.
"""
from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import exception_view_config, view_config

from ..workflow.lottery import draw as model
from ..records.filing import ValidationFailed
from .base import actor, can, _int_param, json_body, per_page_param, plain, schemas, text_value
from .errors import answer_405
from .errors import respond


def _rule(request, jurisdiction, path, default=None):
    """A rule of the jurisdiction's profile by dotted path; ``default`` when it has none."""
    profiles = getattr(request.registry, "archive_profiles", None)
    profile = profiles.get(jurisdiction) if profiles is not None else None
    return default if profile is None else profile.value(path, default)


def _tiers(request, jurisdiction):
    """The jurisdiction profile's priority tiers (lottery.priority_tiers), [] without one."""
    return _rule(request, jurisdiction, "lottery.priority_tiers", []) or []


def _notice_days(request, jurisdiction):
    """The profile's advance notice period in days (lottery.notice_days), None without one."""
    return _rule(request, jurisdiction, "lottery.notice_days")


def _zone(request):
    return request.registry.settings.get("archive.timezone") or "Asia/Shanghai"


def _jurisdictions(request):
    return schemas(request).vocabularies["jurisdictions"]


def _hold(request, jurisdiction, households, seed, comment, announced_on):
    """Hold the lottery; an empty seed means one generated now."""
    if isinstance(seed, str):
        seed = seed.strip()
    return model.hold_lottery(
        request.root, schemas(request), jurisdiction, households,
        seed if seed not in (None, "") else model.new_seed(), actor(request),
        _tiers(request, jurisdiction), comment=comment, zone=_zone(request),
        announced_on=announced_on, notice_days=_notice_days(request, jurisdiction))


def _lottery_or_404(request):
    lottery = request.root.lotteries.get(request.matchdict["lottery_id"])
    if lottery is None:
        raise HTTPNotFound(request.t("摇号批次不存在"))
    return lottery


def _group_titles(request):
    """Priority group codes -> “低保家庭、重度残疾” in the page's language."""
    vocab = schemas(request).vocabularies["priority_groups"]
    sep = ", " if request.ui_locale == "en" else "、"
    return lambda codes: sep.join(vocab.title(c, request.ui_locale) for c in codes or ())


def _tier_title(request, n_tiers, tier):
    if tier > n_tiers:
        return request.t("一般")
    return request.t("第 {n} 优先组", n=tier)


def _rows(request, lottery):
    """The order as the page and the API show it: masked names, groups, the filed document."""
    titles = _group_titles(request)
    out = []
    for rank, no, tier in lottery.order:
        doc = lottery.document_of(no)
        out.append({"rank": rank, "archive_no": no, "tier": tier,
                    "tier_title": _tier_title(request, len(lottery.tiers), tier),
                    "name": lottery.name_of(no),
                    "priority_groups": list(lottery.groups_of(no)),
                    "group_titles": titles(lottery.groups_of(no)),
                    "key": model.sort_key(lottery.seed, no), "doc_id": doc})
    return out


# -- pages -----------------------------------------------------------------------------
@view_config(route_name="lotteries", renderer="archive:templates/lottery_list.pt",
             permission="view")
def lottery_list(request):
    return {"lotteries": request.root.lotteries.newest(100), "total": len(request.root.lotteries),
            "jurisdictions": _jurisdictions(request),
            "can_hold": can(request, "lottery", request.root)}


@view_config(route_name="lottery_new", renderer="archive:templates/lottery_new.pt",
             permission="lottery")
def lottery_new(request):
    """Choose a jurisdiction, then the batch (every registered household checked)."""
    params = request.POST if request.method == "POST" else request.GET
    jurisdiction = params.get("jurisdiction", "")
    if request.method == "POST":
        households = request.POST.getall("households")
        try:
            lottery = _hold(request, jurisdiction, households, request.POST.get("seed", ""),
                            request.POST.get("comment", ""), request.POST.get("announced_on"))
        except model.LotteryError as exc:
            request.response.status = 422
            return _new_page(request, jurisdiction, str(exc), set(households), request.POST)
        request.session.flash(request.t("已完成摇号：{id}，共 {n} 户，结果已归入各户档案",
                                        id=lottery.lottery_id, n=len(lottery.order)))
        return HTTPFound(request.route_url("lottery", lottery_id=lottery.lottery_id))
    return _new_page(request, jurisdiction)


def _new_page(request, jurisdiction, error=None, checked=None, values=None):
    vocab = _jurisdictions(request)
    container = request.root.households
    counts = {code: container.query({"jurisdiction": code, "state": model.REGISTERED},
                                    limit=0)[0] for code in vocab.codes()}
    households, more, tiers, notice_days = [], False, [], None
    if jurisdiction in vocab:
        tiers = _tiers(request, jurisdiction)
        notice_days = _notice_days(request, jurisdiction)
        total, households = container.query(
            {"jurisdiction": jurisdiction, "state": model.REGISTERED}, "archive_no", False, 0,
            model.MAX_BATCH)
        more = total > model.MAX_BATCH
    titles = _group_titles(request)
    rows = [{"archive_no": d.archive_no, "name": d.title,
             "groups": titles(d.metadata.get("priority_groups")),
             "tier_title": _tier_title(request, len(tiers),
                                       model.tier_of(d.metadata.get("priority_groups"), tiers)),
             "checked": checked is None or d.archive_no in checked} for d in households]
    known = jurisdiction in vocab
    return {"jurisdiction": jurisdiction if known else "", "vocab": vocab,
            "place": vocab.title(jurisdiction, request.ui_locale) if known else "",
            "counts": counts, "rows": rows, "more": more, "max_batch": model.MAX_BATCH,
            "tiers": [titles(tier) for tier in tiers], "notice_days": notice_days,
            "error": error, "values": values or {}}


@view_config(route_name="lottery", renderer="archive:templates/lottery.pt", permission="view")
def lottery_page(request):
    return _result_page(request, _lottery_or_404(request), None)


@view_config(route_name="lottery_verify", renderer="archive:templates/lottery.pt",
             permission="view")
def lottery_verify(request):
    """复核: re-run the draw from the stored seed and participants, and check the digest."""
    lottery = _lottery_or_404(request)
    return _result_page(request, lottery, lottery.verify())


def _result_page(request, lottery, verified):
    titles = _group_titles(request)
    return {"lottery": lottery, "verified": verified, "rows": _rows(request, lottery),
            "jurisdiction_title": _jurisdictions(request).title(lottery.jurisdiction,
                                                                request.ui_locale),
            "tiers": [titles(tier) for tier in lottery.tiers],
            "algorithm": model.ALGORITHM_ZH}


# -- API -------------------------------------------------------------------------------
def lottery_summary(request, lottery):
    return {"lottery_id": lottery.lottery_id, "jurisdiction": lottery.jurisdiction,
            "when": plain(lottery.when), "actor": lottery.actor, "households": len(lottery.order),
            "digest": lottery.digest,
            "href": request.route_url("api_lottery", lottery_id=lottery.lottery_id)}


def lottery_json(request, lottery):
    rows = _rows(request, lottery)
    for row in rows:
        doc = row.pop("doc_id")
        row.pop("group_titles")
        row["document"] = (request.route_url("api_document", kind="households",
                                             no=row["archive_no"], doc=doc) if doc else None)
    return {**lottery_summary(request, lottery), "comment": lottery.comment,
            "announced_on": plain(lottery.announced_on),
            "jurisdiction_title": _jurisdictions(request).title(lottery.jurisdiction),
            "seed": lottery.seed, "algorithm": model.ALGORITHM,
            "algorithm_description": model.ALGORITHM_ZH,
            "tiers": [list(t) for t in lottery.tiers], "order": rows,
            "verified": lottery.verify(),
            "links": {"self": request.route_url("api_lottery", lottery_id=lottery.lottery_id),
                      "html": request.route_url("lottery", lottery_id=lottery.lottery_id)}}


@view_config(route_name="api_lotteries", request_method="GET", renderer="json",
             permission="view")
def api_list(request):
    """Lotteries, newest first, a page at a time."""
    page = _int_param(request, "page", "页码", 1)
    per_page = per_page_param(request)
    items = request.root.lotteries.newest()
    return {"total": len(items), "page": page, "per_page": per_page,
            "items": [lottery_summary(request, lot)
                      for lot in items[(page - 1) * per_page:page * per_page]]}


@view_config(route_name="api_lotteries", request_method="POST", renderer="json",
             permission="lottery")
def api_hold(request):
    """JSON {jurisdiction, households: [档号...], seed?, comment?, announced_on?} → 201."""
    body = json_body(request)
    errors = {}
    jurisdiction = body.get("jurisdiction")
    if not isinstance(jurisdiction, str) or not jurisdiction:
        errors["jurisdiction"] = "辖区：必填，应为辖区代码"
    households = body.get("households")
    if not isinstance(households, list) or any(not isinstance(n, str) for n in households):
        errors["households"] = "参加摇号的住户：应为档号列表"
    seed = body.get("seed")
    if seed is not None and not isinstance(seed, str):
        errors["seed"] = model.SEED_MESSAGE
    announced_on = body.get("announced_on")
    if announced_on is not None and not isinstance(announced_on, str):
        errors["announced_on"] = model.NOTICE_MESSAGE
    try:
        comment = text_value(body, "comment", "说明")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    lottery = _hold(request, jurisdiction, households, seed, comment, announced_on)
    url = request.route_url("api_lottery", lottery_id=lottery.lottery_id)
    request.response.status = 201
    request.response.location = url
    return lottery_json(request, lottery)


@view_config(route_name="api_lottery", request_method="GET", renderer="json", permission="view")
def api_get(request):
    return lottery_json(request, _lottery_or_404(request))


@view_config(route_name="api_lotteries", require_csrf=False)
@view_config(route_name="api_lottery", require_csrf=False)
def method_not_allowed(request):
    """405 with Allow for the lottery paths, as views/api.py answers for the others."""
    return answer_405(request)


@exception_view_config(model.LotteryError)
def lottery_refused(exc, request):
    return respond(request, 422, str(exc), {exc.field: str(exc)} if exc.field else None)
