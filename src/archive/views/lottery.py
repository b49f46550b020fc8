"""The lottery (摇号) for people and for the JSON API: announce a batch, draw it, ask for and
consent to a redraw, list them, show and verify one.

Views are thin: they read the input, call ``archive.workflow.lottery.holding`` and render; a
refusal (LotteryError) becomes its 4xx with the model's message and nothing is stored, but
a refused draw is recorded in every household of the batch after the abort
(views/aftermath.py).
"""
from __future__ import annotations

from pyramid.httpexceptions import HTTPForbidden, HTTPFound, HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.view import exception_view_config, view_config

from ..access.local import scope

from ..records import attempts, filing
from ..records.filing import ValidationFailed
from ..workflow.lottery import draw as model
from ..workflow.lottery import holding
from .aftermath import record_lottery_attempt
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


def _announce(request, jurisdiction, households, draw_on, commitment, comment, announced_on):
    """Announce a batch: (lottery, the seed made for it when no commitment was given)."""
    if not _in_scope(request, jurisdiction, "lottery"):
        raise HTTPForbidden(request.t("只能查看和办理本辖区的摇号批次"))
    if isinstance(commitment, str):
        commitment = commitment.strip()
    return holding.announce(
        request.root, schemas(request), jurisdiction, households, actor(request),
        _tiers(request, jurisdiction), draw_on, commitment or None, announced_on,
        _notice_days(request, jurisdiction), comment, filing.now(), _zone(request))


def _draw(request, lottery, seed):
    return holding.draw_lottery(request.root, schemas(request), lottery,
                                seed.strip() if isinstance(seed, str) else seed, actor(request),
                                filing.now(), _zone(request))


def _request_redraw(request, lottery, reason, draw_on, commitment):
    if isinstance(commitment, str):
        commitment = commitment.strip()
    return holding.request_redraw(request.root, lottery, actor(request), reason, draw_on,
                                  commitment or None, filing.now(), _zone(request))


def _approve_redraw(request, lottery):
    return holding.approve_redraw(request.root, schemas(request), lottery, actor(request),
                                  _notice_days(request, lottery.jurisdiction), filing.now(),
                                  _zone(request))


def _lottery_or_404(request):
    lottery = request.root.lotteries.get(request.matchdict["lottery_id"])
    if lottery is None:
        raise HTTPNotFound(request.t("摇号批次不存在"))
    if not _in_scope(request, lottery.jurisdiction):
        raise HTTPForbidden(request.t("只能查看和办理本辖区的摇号批次"))
    return lottery


def _in_scope(request, jurisdiction, permission="view"):
    """Whether the user's roles reach this jurisdiction (local roles: archive.access.local)."""
    places = scope(request, permission)
    return places is None or jurisdiction in places.places


def _visible(request, lotteries):
    return [lot for lot in lotteries if _in_scope(request, lot.jurisdiction)]


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
    if scope(request) is None:
        lotteries, total = request.root.lotteries.newest(100), len(request.root.lotteries)
    else:      # a local role: its jurisdictions' batches only, and only those counted
        everything = _visible(request, request.root.lotteries.newest())
        lotteries, total = everything[:100], len(everything)
    return {"lotteries": lotteries, "total": total,
            "state_titles": STATE_TITLES,
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
            lottery, seed = _announce(request, jurisdiction, households,
                                      request.POST.get("draw_on"), request.POST.get("commitment"),
                                      request.POST.get("comment", ""),
                                      request.POST.get("announced_on"))
        except model.LotteryError as exc:
            request.response.status = exc.status
            return _new_page(request, jurisdiction, str(exc), set(households), request.POST)
        request.response.status = 201     # the page itself: a generated seed is shown only here
        page = _result_page(request, lottery, None)
        page["generated_seed"] = seed
        page["message"] = request.t("已发布摇号预告：{id}，共 {n} 户", id=lottery.lottery_id,
                                    n=len(lottery.households()))
        return render_to_response("archive:templates/lottery.pt", page, request=request,
                                  response=request.response)
    return _new_page(request, jurisdiction)


def _new_page(request, jurisdiction, error=None, checked=None, values=None):
    vocab = _jurisdictions(request)
    container = request.root.households
    terms = [term for term in vocab.terms if _in_scope(request, term.code, "lottery")]
    counts = {term.code: container.query({"jurisdiction": term.code, "state": model.REGISTERED},
                                         limit=0)[0] for term in terms}
    households, more, tiers, notice_days = [], False, [], None
    if jurisdiction in counts:
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
    known = jurisdiction in counts
    return {"jurisdiction": jurisdiction if known else "", "vocab": vocab, "terms": terms,
            "place": vocab.title(jurisdiction, request.ui_locale) if known else "",
            "counts": counts, "rows": rows, "more": more, "max_batch": model.MAX_BATCH,
            "tiers": [titles(tier) for tier in tiers], "notice_days": notice_days,
            "error": error, "values": values or {}}


@view_config(route_name="lottery", renderer="archive:templates/lottery.pt", permission="view")
def lottery_page(request):
    return _result_page(request, _lottery_or_404(request), None)


# the three steps of a batch from its page: draw, ask for a redraw, consent to it
STEPS = {"lottery_draw": (lambda request, lot: _draw(request, lot, request.POST.get("seed", "")),
                          "已完成摇号：{id}，结果已归入各户档案"),
         "lottery_redraw": (lambda request, lot: _request_redraw(
             request, lot, request.POST.get("reason", ""), request.POST.get("draw_on"),
             request.POST.get("commitment")), "已申请重新摇号：{id}，待另一名摇号人员同意"),
         "lottery_approve": (lambda request, lot: _approve_redraw(request, lot),
                             "已同意重新摇号，新批次：{id}")}


@view_config(route_name="lottery_draw", request_method="POST", permission="lottery")
@view_config(route_name="lottery_redraw", request_method="POST", permission="lottery")
@view_config(route_name="lottery_approve", request_method="POST", permission="lottery")
def lottery_step(request):
    """A step of the batch from its page; a refusal shows the page again with the reason."""
    lottery = _lottery_or_404(request)
    step, message = STEPS[request.matched_route.name]
    try:
        result = step(request, lottery)
    except model.LotteryError as exc:
        record_lottery_attempt(request, exc)
        request.response.status = exc.status
        page = _result_page(request, lottery, None)
        page["error"] = str(exc)
        return render_to_response("archive:templates/lottery.pt", page, request=request,
                                  response=request.response)
    if isinstance(result, tuple):       # a redraw asked for with a seed made here
        result, seed = result
        if seed:
            page = _result_page(request, result, None)
            page["generated_seed"] = seed
            page["message"] = request.t(message, id=result.lottery_id)
            return render_to_response("archive:templates/lottery.pt", page, request=request,
                                      response=request.response)
    request.session.flash(request.t(message, id=result.lottery_id))
    return HTTPFound(request.route_url("lottery", lottery_id=result.lottery_id))


@view_config(route_name="lottery_verify", renderer="archive:templates/lottery.pt",
             permission="view")
def lottery_verify(request):
    """复核: re-run the draw from the stored seed and participants, and check the digest."""
    lottery = _lottery_or_404(request)
    return _result_page(request, lottery, lottery.verify())


def _result_page(request, lottery, verified):
    titles = _group_titles(request)
    redraw = lottery.redraw
    return {"lottery": lottery, "verified": verified, "rows": _rows(request, lottery),
            "jurisdiction_title": _jurisdictions(request).title(lottery.jurisdiction,
                                                                request.ui_locale),
            "tiers": [titles(tier) for tier in lottery.tiers],
            "algorithm": model.ALGORITHM_ZH, "how_to_verify": holding.VERIFY_ZH,
            "state_title": request.t(STATE_TITLES[lottery.state]),
            "can_hold": can(request, "lottery", request.root),
            "pending": redraw if redraw is not None and not redraw.approved_by else None,
            "attempts": _attempts(lottery, request), "error": None, "message": None,
            "generated_seed": None}


STATE_TITLES = {"announced": "已预告，待摇号", "drawn": "已摇号", "superseded": "已重新摇号（本批次作废）"}


def _attempts(lottery, request):
    """Every attempt on the batch, from the case history of its first household (each
    household of the batch holds the same attempts)."""
    for no in lottery.households():
        dossier = request.root.households.get(no)
        if dossier is not None:
            return [a for a in attempts.of(dossier) if a.name == lottery.lottery_id]
    return []


# -- API -------------------------------------------------------------------------------
def lottery_summary(request, lottery):
    return {"lottery_id": lottery.lottery_id, "jurisdiction": lottery.jurisdiction,
            "state": lottery.state, "draw_on": plain(lottery.draw_on),
            "when": plain(lottery.when), "actor": lottery.actor or None,
            "households": len(lottery.households()),
            "digest": lottery.digest or None,
            "href": request.route_url("api_lottery", lottery_id=lottery.lottery_id)}


def _redraw_json(redraw):
    if redraw is None:
        return None
    return {"requested_by": redraw.requested_by, "requested_at": plain(redraw.requested_at),
            "reason": redraw.reason, "commitment": redraw.commitment,
            "draw_on": plain(redraw.draw_on), "approved_by": redraw.approved_by or None,
            "approved_at": plain(redraw.approved_at)}


def lottery_json(request, lottery):
    rows = _rows(request, lottery)
    for row in rows:
        doc = row.pop("doc_id")
        row.pop("group_titles")
        row["document"] = (request.route_url("api_document", kind="households",
                                             no=row["archive_no"], doc=doc) if doc else None)
    links = {"self": request.route_url("api_lottery", lottery_id=lottery.lottery_id),
             "html": request.route_url("lottery", lottery_id=lottery.lottery_id),
             "draw": request.route_url("api_lottery_draw", lottery_id=lottery.lottery_id),
             "redraw": request.route_url("api_lottery_redraw", lottery_id=lottery.lottery_id)}
    return {**lottery_summary(request, lottery), "comment": lottery.comment,
            "announced_on": plain(lottery.announced_on),
            "announced_at": plain(lottery.announced_at), "announced_by": lottery.announced_by or None,
            "commitment": lottery.commitment,
            "jurisdiction_title": _jurisdictions(request).title(lottery.jurisdiction),
            "seed": lottery.seed, "algorithm": model.ALGORITHM,
            "algorithm_description": model.ALGORITHM_ZH,
            "tiers": [list(t) for t in lottery.tiers], "order": rows,
            "batch": lottery.households(), "absent": list(lottery.absent),
            "redraw_of": lottery.redraw_of, "superseded_by": lottery.superseded_by,
            "redraw": _redraw_json(lottery.redraw or lottery.approval),
            "attempts": [{"when": plain(a.when), "actor": a.actor, "outcome": a.outcome,
                          "outcome_title": a.outcome_title(request.ui_locale),
                          "reasons": list(a.reasons), "details": [list(d) for d in a.details]}
                         for a in _attempts(lottery, request)],
            "verified": lottery.verify(), "links": links}


@view_config(route_name="api_lotteries", request_method="GET", renderer="json",
             permission="view")
def api_list(request):
    """Lotteries, newest first, a page at a time."""
    page = _int_param(request, "page", "页码", 1)
    per_page = per_page_param(request)
    items = _visible(request, request.root.lotteries.newest())
    return {"total": len(items), "page": page, "per_page": per_page,
            "items": [lottery_summary(request, lot)
                      for lot in items[(page - 1) * per_page:page * per_page]]}


@view_config(route_name="api_lotteries", request_method="POST", renderer="json",
             permission="lottery")
def api_announce(request):
    """JSON {jurisdiction, households: [档号...], draw_on, commitment?, announced_on?, comment?}
    → 201, the announced batch; without a commitment the seed made for it is in ``seed_once``."""
    body = json_body(request)
    errors = {}
    jurisdiction = body.get("jurisdiction")
    if not isinstance(jurisdiction, str) or not jurisdiction:
        errors["jurisdiction"] = "辖区：必填，应为辖区代码"
    households = body.get("households")
    if not isinstance(households, list) or any(not isinstance(n, str) for n in households):
        errors["households"] = "参加摇号的住户：应为档号列表"
    for name, message in (("announced_on", model.NOTICE_MESSAGE),
                          ("draw_on", holding.DRAW_ON_MESSAGE),
                          ("commitment", model.COMMITMENT_MESSAGE)):
        if body.get(name) is not None and not isinstance(body.get(name), str):
            errors[name] = message
    if "draw_on" not in errors and not body.get("draw_on"):
        errors["draw_on"] = holding.DRAW_ON_MESSAGE
    try:
        comment = text_value(body, "comment", "说明")
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    lottery, seed = _announce(request, jurisdiction, households, body["draw_on"],
                              body.get("commitment"), comment, body.get("announced_on"))
    return _created(request, lottery, seed)


def _created(request, lottery, seed=None):
    url = request.route_url("api_lottery", lottery_id=lottery.lottery_id)
    request.response.status = 201
    request.response.location = url
    out = lottery_json(request, lottery)
    if seed:
        out["seed_once"] = seed
    return out


def _body_strings(request, *names):
    body = json_body(request)
    bad = {n: f"{n}：应为文本" for n in names if body.get(n) is not None and not isinstance(body.get(n), str)}
    if bad:
        raise ValidationFailed(bad)
    return body


@view_config(route_name="api_lottery_draw", request_method="POST", renderer="json",
             permission="lottery")
def api_draw(request):
    """JSON {seed} → 200, the drawn batch; every attempt is recorded, refused ones too."""
    lottery = _lottery_or_404(request)
    body = _body_strings(request, "seed")
    if not body.get("seed"):
        raise ValidationFailed({"seed": model.SEED_MESSAGE})
    return lottery_json(request, _draw(request, lottery, body["seed"]))


@view_config(route_name="api_lottery_redraw", request_method="POST", renderer="json",
             permission="lottery")
def api_redraw(request):
    """JSON {reason, draw_on, commitment?} → 200 with the request awaiting consent."""
    lottery = _lottery_or_404(request)
    body = _body_strings(request, "reason", "draw_on", "commitment")
    lottery, seed = _request_redraw(request, lottery, body.get("reason"), body.get("draw_on"),
                                    body.get("commitment"))
    out = lottery_json(request, lottery)
    if seed:
        out["seed_once"] = seed
    return out


@view_config(route_name="api_lottery_approve", request_method="POST", renderer="json",
             permission="lottery")
def api_approve(request):
    """{} → 201, the new batch announced for the redraw (another officer than who asked)."""
    lottery = _lottery_or_404(request)
    json_body(request) if request.body else None
    return _created(request, _approve_redraw(request, lottery))


@view_config(route_name="api_lottery", request_method="GET", renderer="json", permission="view")
def api_get(request):
    return lottery_json(request, _lottery_or_404(request))


@view_config(route_name="api_lotteries", require_csrf=False)
@view_config(route_name="api_lottery", require_csrf=False)
@view_config(route_name="api_lottery_draw", require_csrf=False)
@view_config(route_name="api_lottery_redraw", require_csrf=False)
@view_config(route_name="api_lottery_approve", require_csrf=False)
def method_not_allowed(request):
    """405 with Allow for the lottery paths, as views/api.py answers for the others."""
    return answer_405(request)


@exception_view_config(model.LotteryError)
def lottery_refused(exc, request):
    """422 (input), 409 (the batch's state), 403 (the same officer consenting); a refused
    draw is recorded in every household of the batch after the abort."""
    record_lottery_attempt(request, exc)
    return respond(request, exc.status, str(exc), {exc.field: str(exc)} if exc.field else None)
