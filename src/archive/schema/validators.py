"""Field validators and cross-field rules for the metadata schemas.

Messages are in Chinese and say what is wrong; the field's title is added by the one
place that reports errors (archive.schema.registry.error_messages), so a message never repeats it.
"""
from __future__ import annotations

import datetime as _dt
import math
import re

import colander

from . import idnumber

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def id_number(node, value):
    """GB 11643 check: shape, region, birth date and check character."""
    try:
        idnumber.validate(value, today=_today(node))
    except idnumber.InvalidIdNumber as exc:
        raise colander.Invalid(node, str(exc)) from None


def phone(node, value):
    """A mainland mobile number or a landline with its area code."""
    digits = value.replace(" ", "")
    if not (MOBILE.match(digits) or LANDLINE.match(digits)):
        raise colander.Invalid(
            node, "应为11位手机号码，或带区号的固定电话（如 0519-88886666）")


CEILING = 1e12  # no amount, area or count in a housing office is larger (1 万亿)


class Quantity:
    """A finite number within [low, high]; money and areas are never negative or NaN, and
    never beyond CEILING, where a float no longer keeps its cents."""

    def __init__(self, low=0.0, high=None):
        self.low, self.high = low, high

    def __call__(self, node, value):
        if value is None:
            return
        if not math.isfinite(value):
            raise colander.Invalid(node, "不是有效的数字")
        if value < self.low:
            raise colander.Invalid(
                node, "不能为负数" if self.low == 0 else f"不能小于{self.low:g}")
        if self.high is not None and value > self.high:
            raise colander.Invalid(node, f"不能大于{self.high:g}")
        if value > CEILING:
            raise colander.Invalid(node, "数值过大，不能超过1万亿")


class MaxLength:
    """A length limit with a Chinese message (colander's own speaks English)."""

    def __init__(self, limit):
        self.limit = limit

    def __call__(self, node, value):
        if value is not None and len(value) > self.limit:
            raise colander.Invalid(node, f"不能超过{self.limit}个字符")


class OneOf:
    """A code from a vocabulary."""

    def __init__(self, codes):
        self.codes = frozenset(codes)

    def __call__(self, node, value):
        values = value if isinstance(value, (set, frozenset, list, tuple)) else [value]
        for item in values:
            if item not in self.codes:
                raise colander.Invalid(node, f"“{item}”不是可选的值")


def _today(node) -> _dt.date:
    """The schema's bound clock (tests move it) or the real date."""
    root = node
    bindings = getattr(root, "bindings", None) or {}
    return bindings.get("today") or _dt.date.today()


def _child_error(node, path, message):
    """An Invalid for a nested child, shaped so deform and asdict() place it on that field."""
    top = colander.Invalid(node)
    current, parent_exc = node, top
    for step in path:
        if isinstance(step, int):
            child = current.children[0]
            pos = step
        else:
            child = current[step]
            pos = current.children.index(child)
        exc = colander.Invalid(child)
        parent_exc.add(exc, pos)
        current, parent_exc = child, exc
    parent_exc.msg = message
    return top


def _people(value):
    """(path, person) for the applicant and every co-applicant."""
    yield ("applicant",), value.get("applicant") or {}
    for i, member in enumerate(value.get("members") or ()):
        yield ("members", i), member


def unique_id_numbers(node, value):
    """一人一号: an ID number appears once per household (applicant and co-applicants)."""
    seen = {}
    for path, person in _people(value):
        number = idnumber.normalize(person.get("id_number") or "")
        if not number:
            continue
        if number in seen:
            raise _child_error(node, path + ("id_number",),
                               f"与{seen[number]}的身份证号码重复，同一号码在一户中只能出现一次")
        seen[number] = person.get("name") or "其他成员"


def birth_date_matches_id_number(node, value):
    """A birth date typed beside an ID number must be the one the number encodes."""
    for path, person in _people(value):
        born, number = person.get("birth_date"), person.get("id_number")
        if born and number and len(number) == 18:
            try:
                encoded = idnumber.birth_date(idnumber.normalize(number))
            except ValueError:
                continue
            if encoded != born:
                raise _child_error(node, path + ("birth_date",),
                                   f"与身份证号码中的出生日期（{encoded:%Y-%m-%d}）不一致")


def applicant_adult(node, value):
    """The applicant must be at least 18 years old (DOMAIN.md, 申请; 厦门 seed 002)."""
    number = (value.get("applicant") or {}).get("id_number")
    if not number or len(number) != 18:
        return
    try:
        born = idnumber.birth_date(idnumber.normalize(number))
    except ValueError:
        return
    today = _today(node)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < 18:
        raise _child_error(node, ("applicant", "id_number"), "申请人须年满18周岁")


RULES = {
    "unique_id_numbers": unique_id_numbers,
    "birth_date_matches_id_number": birth_date_matches_id_number,
    "applicant_adult": applicant_adult,
}


class Number(colander.Float):
    """A float that refuses JSON true/false (colander's Float takes True as 1.0)."""

    def deserialize(self, node, cstruct):
        if isinstance(cstruct, bool):
            raise colander.Invalid(node, "不是有效的数字")
        return super().deserialize(node, cstruct)


class Text(colander.String):
    """Text that refuses a number, list or object where text is expected (colander's String
    turns 5 into "5" and {"a": 1} into "{'a': 1}"); forms always send text."""

    def deserialize(self, node, cstruct):
        if cstruct is not colander.null and not isinstance(cstruct, str):
            raise colander.Invalid(node, "应为文本")
        return super().deserialize(node, cstruct)


class WholeNumber(colander.Integer):
    """An integer that refuses JSON true/false."""

    def deserialize(self, node, cstruct):
        if isinstance(cstruct, bool):
            raise colander.Invalid(node, "不是有效的整数")
        return super().deserialize(node, cstruct)


class Choices(colander.Set):
    """A list of vocabulary codes; anything but a list of text is refused, not guessed at."""

    def deserialize(self, node, cstruct):
        if cstruct is colander.null:
            return colander.null
        if not isinstance(cstruct, (list, tuple, set)) or not all(isinstance(v, str) for v in cstruct):
            raise colander.Invalid(node, "应为选项列表")
        return set(cstruct)
