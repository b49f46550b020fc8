"""Shelving (库房管理): where each dossier's paper volume stands, and the stock-take (盘点).

The register of places (库房 → 架 → 层 → 盒) is entered by the office and changes rarely;
it lives in ``root.stacks``. Where a volume stands is kept on the dossier itself
(``dossier.shelf_place``, a box's code), and every move is a version of that dossier
(action ``shelved``), so moves of different dossiers never write the same record and the
history shows and compares every move. A stock-take compares what a place should hold
with the archive numbers found there (typed or scanned from the box labels' QR codes)
and is kept, with who took it and when.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from BTrees.IOBTree import IOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ..access.local import OutOfScope
from ..records.container import containers, find_dossier

LEVELS = ("room", "shelf", "layer", "box")
LEVEL_TITLES = {"room": ("库房", "Store room"), "shelf": ("架", "Shelf"),
                "layer": ("层", "Layer"), "box": ("盒", "Box")}
PLACE_DETAIL, OLD_PLACE_DETAIL = "存放位置", "原存放位置"   # the pairs of a ``shelved`` version
UNPLACED = "未上架"
_SEGMENT = re.compile(r"^[A-Za-z0-9]{1,10}$")
MAX_TITLE = 60
MAX_SCANNED = 5000   # archive numbers in one stock-take: a room's worth, not a flood
MAX_NUMBER = 100
BLANKS = " \t\r\n"   # what is trimmed from typed input (the OpenAPI patterns say the same)


class ShelvingError(Exception):
    """Input the register refuses; ``field`` names what to correct, the message says how."""

    def __init__(self, message, field="place"):
        super().__init__(message)
        self.field = field


class PlaceNotFound(ShelvingError, KeyError):
    """A place code the register does not hold."""

    def __str__(self):
        return self.args[0]


class PlaceConflict(ShelvingError):
    """A place registered twice, or a volume moved to where it already stands."""


@dataclass(frozen=True)
class Place:
    """One storage place: its full code (``A-01-02-003``), level, title, and who entered it."""
    code: str
    level: str
    title: str
    parent: str
    created_by: str
    created_at: object

    def level_title(self, locale="zh"):
        return LEVEL_TITLES[self.level][1 if locale == "en" else 0]


@dataclass(frozen=True)
class StockTake:
    """盘点: what a place should hold, what was found there, and the differences."""
    number: int
    place: str
    when: object
    actor: str
    expected: tuple      # archive numbers recorded under the place
    scanned: tuple       # archive numbers found there, in the order entered, once each
    missing: tuple       # expected, not found
    misplaced: tuple     # (archive number, where it should be or "") found here, recorded elsewhere
    unknown: tuple       # not an archive number of this archive
    comment: str = ""

    @property
    def found(self):
        return tuple(n for n in self.scanned if n in set(self.expected))


class Stacks(Persistent):
    """库房: the register of storage places and the stock-takes taken."""

    def __init__(self):
        self.places = OOBTree()
        self.stocktakes = IOBTree()

    # -- the register --------------------------------------------------------------------
    def add_place(self, parent, segment, title, actor, when) -> Place:
        """Register a room (no parent), or a shelf, layer or box inside ``parent``."""
        parent = (parent or "").strip(BLANKS)
        segment = segment.strip(BLANKS) if isinstance(segment, str) else ""
        if not _SEGMENT.match(segment):
            raise ShelvingError("编号：应为1到10位字母或数字", "code")
        if not isinstance(title, str) or len(title) > MAX_TITLE:
            raise ShelvingError(f"名称：应为不超过{MAX_TITLE}个字符的文本", "title")
        if parent:
            above = self.place(parent)
            if above.level == "box":
                raise ShelvingError("盒内不能再设存放位置，请选择库房、架或层", "parent")
            level, code = LEVELS[LEVELS.index(above.level) + 1], f"{parent}-{segment}"
        else:
            level, code = "room", segment
        if code in self.places:
            raise PlaceConflict(f"存放位置 {code} 已经登记过", "code")
        names = LEVEL_TITLES[level][0]
        place = Place(code, level, title.strip() or f"{segment}{'号' if level == 'room' else ''}{names}",
                      parent, actor, when)
        self.places[code] = place
        return place

    def place(self, code) -> Place:
        try:
            return self.places[code]
        except (KeyError, TypeError):
            raise PlaceNotFound(f"存放位置 {code} 不存在") from None

    def children(self, code="") -> list:
        """The places directly inside ``code`` (the rooms for "")."""
        if not code:
            return [p for p in self.places.values() if not p.parent]
        return [p for p in self.places.values(min=code + "-", max=code + "-\uffff")
                if p.parent == code]

    def path(self, code) -> list:
        """The places from the room down to ``code``."""
        out, place = [], self.place(code)
        while True:
            out.insert(0, place)
            if not place.parent:
                return out
            place = self.place(place.parent)

    def label(self, code, locale="zh") -> str:
        """``A-01-02-003（一号库房 / 1架 / 2层 / 3盒）`` for pages and version details."""
        if not code:
            return UNPLACED
        try:
            titles = " / ".join(p.title for p in self.path(code))
        except PlaceNotFound:
            return code
        return f"{code}（{titles}）"

    # -- stock-takes ---------------------------------------------------------------------
    def record(self, take: StockTake) -> StockTake:
        self.stocktakes[take.number] = take
        return take

    def next_number(self) -> int:
        return (self.stocktakes.maxKey() + 1) if len(self.stocktakes) else 1


def within(code, place) -> bool:
    """Is the place ``code`` the place ``place`` or inside it?"""
    return bool(code) and (code == place or code.startswith(place + "-"))


def place_of(dossier) -> str | None:
    """The box where the dossier's paper volume stands (None: not shelved yet)."""
    return getattr(dossier, "shelf_place", None)


def shelve(stacks, dossier, code, actor, when, comment=""):
    """Put (or move) the dossier's paper volume into a box; recorded as a new version."""
    code = code.strip(BLANKS) if isinstance(code, str) else ""
    if not code:
        raise ShelvingError("存放位置：请选择要放入的盒")
    place = stacks.place(code)
    if place.level != "box":
        raise ShelvingError(f"存放位置：{code} 是{place.level_title()}，请选择到盒")
    old = place_of(dossier)
    if old == code:
        raise PlaceConflict(f"档案已在 {code}，无需移动")
    dossier.shelf_place = code
    return dossier.note("shelved", actor, when, comment or ("移库" if old else "上架"),
                        details=((PLACE_DETAIL, code), (OLD_PLACE_DETAIL, old or UNPLACED)))


def place_at(dossier, number) -> str | None:
    """Where the volume stood as of version ``number`` (from its ``shelved`` versions)."""
    for box in reversed(list(dossier.versions.values(max=int(number)))):
        version = box.version
        if version.action == "shelved":
            return dict(version.details).get(PLACE_DETAIL)
    return None


def place_change(dossier, a, b):
    """(old, new) place between versions a and b, or None when the volume did not move."""
    old, new = place_at(dossier, a.number), place_at(dossier, b.number)
    return None if old == new else (old or UNPLACED, new or UNPLACED)


def _dossiers(root, scope=None):
    """Every dossier of every kind (an employer's volume stands in a box too), or those of
    a local role's places (archive.access.local.Scope)."""
    for container in containers(root):
        if scope is None:
            yield from container.values()
        else:
            yield from (container[k] for k in scope.ids(container))


def holdings(root, code, scope=None) -> list:
    """The dossiers whose volumes the register puts at ``code`` or inside it, by place;
    with a ``scope``, only those in it."""
    out = [d for d in _dossiers(root, scope) if within(place_of(d), code)]
    return sorted(out, key=lambda d: (place_of(d), d.archive_no))


def visible_places(stacks, root, scope) -> set | None:
    """The place codes a local role sees: the boxes holding its dossiers and the rooms,
    shelves and layers around them (None: every place, for a global role). A box is not a
    city's, so a place shows as long as one of its volumes is the user's."""
    if scope is None:
        return None
    out = set()
    for dossier in _dossiers(root, scope):
        code = place_of(dossier)
        if code and code in stacks.places:
            out.update(p.code for p in stacks.path(code))
    return out


def check_stocktake(root, code, scope):
    """A local role takes stock only of a place whose volumes are all its own (a stock-take
    lists what the place should hold, and where strays belong)."""
    if scope is None:
        return
    if code not in visible_places(root.stacks, root, scope):
        raise OutOfScope(f"{code} 未存放您辖区的档案，不能在此盘点")
    others = len(holdings(root, code)) - len(holdings(root, code, scope))
    if others:
        raise OutOfScope(f"{code} 还存放着您辖区以外的 {others} 卷档案，请由全馆的档案管理员盘点")


def parse_numbers(value) -> list:
    """Archive numbers as typed or scanned: one per line (or separated by spaces, commas)."""
    if isinstance(value, str):
        value = re.split(r"[\s,，;；]+", value)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ShelvingError("档号：应为档号的列表，或每行一个档号的文本", "scanned")
    if len(value) > MAX_SCANNED:
        raise ShelvingError(f"档号：一次盘点最多{MAX_SCANNED}个档号", "scanned")
    out, seen = [], set()
    for raw in value:
        if len(raw) > MAX_NUMBER:
            raise ShelvingError(f"档号：“{raw[:20]}…”过长，不是档号", "scanned")
        number = raw.strip(BLANKS)
        if number and number not in seen:
            seen.add(number)
            out.append(number)
    return out


def take_admitted(root, take, scope) -> bool:
    """Whether a local role sees a stock-take: every volume it names (expected or found
    astray) is one of its dossiers, at a place it sees."""
    if scope is None:
        return True
    numbers = list(take.expected) + [n for n, _ in take.misplaced]
    return take.place in visible_places(root.stacks, root, scope) and all(
        (d := _dossier(root, n)) is not None and scope.admits(d) for n in numbers)


def take_stock(stacks, root, code, scanned, actor, when, comment="", scope=None) -> StockTake:
    """盘点 ``code``: missing, misplaced (and where each should be) and unknown numbers. A
    local role's (``scope``) only where every volume is its own; a scanned number outside
    its places is reported unknown, so the take tells it nothing of another city's."""
    stacks.place(code)
    check_stocktake(root, code, scope)
    numbers = parse_numbers(scanned)
    expected = tuple(d.archive_no for d in holdings(root, code))
    expecting, seen = set(expected), set(numbers)
    misplaced, unknown = [], []
    for number in numbers:
        if number in expecting:
            continue
        dossier = _dossier(root, number)
        if dossier is None or (scope is not None and not scope.admits(dossier)):
            unknown.append(number)
        else:
            misplaced.append((number, place_of(dossier) or ""))
    take = StockTake(stacks.next_number(), code, when, actor, expected, tuple(numbers),
                     tuple(n for n in expected if n not in seen), tuple(misplaced),
                     tuple(unknown), comment)
    return stacks.record(take)


def _dossier(root, number):
    return find_dossier(root, number)
