"""What the server takes as text, as JSON Schema patterns for the OpenAPI document.

views/input.py refuses, before any view, text holding a C0 control character other than
tab, line feed and carriage return, or DEL (a path or a query parameter may hold none at
all); blank input to a required field counts as missing. The patterns say the same, so
schemathesis (tests/server/test_schemathesis.py) and an integrator read one rule.
"""
from __future__ import annotations

_TEXT_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
TEXT = rf"^{_TEXT_CHAR}*$"
PARAM_TEXT = r"^[^\x00-\x1f\x7f]*$"
NOT_BLANK = rf"^{_TEXT_CHAR}*[^\s\x00-\x1f\x7f]{_TEXT_CHAR}*$"
BLANK = r"^[ \t\r\n]*$"
PARAM_NOT_BLANK = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


# -- small builders every part of the OpenAPI document uses -------------------------------------
def ref(name):
    """A reference to a schema of the document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def errors(*codes):
    """The shared error answers (components/responses) for these status codes."""
    return {str(c): {"$ref": f"#/components/responses/{c}"} for c in codes}


def json_answer(schema, description="成功"):
    """A JSON answer with this schema."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}
