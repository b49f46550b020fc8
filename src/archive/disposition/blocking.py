"""What holds a dossier (冻结) at this moment: the holds placed on it and still open, and the
open matters that hold a household by themselves (archive.disposition.holds explains them).
Asked before every destruction, appraisal and document withdrawal."""
from __future__ import annotations

from .errors import Held


def automatic(root, dossier, today, search=None) -> list:
    """[(source, text)] of the open matters that hold the dossier by themselves."""
    if dossier.kind != "household":
        return []
    out = []
    people = [p for p in dossier.people() if p.get("id_number")]
    credit = getattr(root, "credit", None)
    for person in people if credit is not None else ():
        for ban in credit.active_bans(person["id_number"], today):
            out.append(("credit", f"诚信档案：{person.get('name', '')} 的失信记录尚在惩戒期内"
                                  f"（至 {ban.last_day:%Y-%m-%d}）"))
            break
    if search is not None:
        for other in _sharing(search, dossier, people, root):
            out.append(("inspection", f"案件核查：与仍在办理的档案 {other} 有共同成员"))
    return out


def _sharing(search, dossier, people, root) -> list:
    """Other households still in the procedure holding one of these ID numbers."""
    from whoosh.query import Or, Term
    final = {"exited", "rejected", "withdrawn", "lapsed"}
    found = []
    try:
        with search.searcher() as s:
            field = s.schema["idno"]
            terms = [Term("idno", t) for p in people for t in field.process_text(p["id_number"])]
            for hit in s.search(Or(terms), limit=100) if terms else ():
                no = hit.get("archive_no", "")
                other = root.households.get(no) if hit.get("dossier_kind") == "household" else None
                if other is not None and no != dossier.archive_no and no not in found \
                        and other.state not in final:
                    found.append(no)
    except Exception:   # an index not built yet answers nothing; the credit check still runs
        return []
    return found


def open_holds(root, dossier) -> list:
    return [h for h in root.disposition.holds_of(dossier) if h.open]


def check_not_held(root, dossier, today, what, search=None):
    """Refuse ``what`` (销毁, 鉴定, 撤出文件) while any hold, placed or automatic, is open."""
    reasons = [f"冻结 {h.hold_id}：{h.note}" for h in open_holds(root, dossier)]
    reasons += [text for _, text in automatic(root, dossier, today, search)]
    if reasons:
        raise Held(f"档案 {dossier.archive_no} 已冻结，不能{what}：" + "；".join(reasons))
