"""What disposition refuses, each with the HTTP status views/errors.py answers it with."""
from __future__ import annotations

from ..records.dossier import DossierError


class DispositionError(DossierError):
    """A disposition step refused; ``status`` is the HTTP answer (views/errors.py)."""
    status = 409
    field = ""

    def __init__(self, message, field=""):
        super().__init__(message)
        self.field = field


class Held(DispositionError):
    """The dossier is frozen (冻结): no destruction, withdrawal or appraisal."""


class SamePerson(DispositionError):
    """Four eyes: who proposed (or drew up, or approved) may not also decide (or supervise)."""
    status = 403


class NotFound(DispositionError):
    status = 404


class Invalid(DispositionError):
    status = 422


class WrongState(DispositionError):
    """The step does not fit where the dossier or list stands (not approved, done already,
    not yet due, decided already): 409, as a procedure step out of turn."""
