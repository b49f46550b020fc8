"""Walking dossiers through the procedure in tests: file what a stage needs, take the step."""
import datetime as dt

from archive.records import filing
from conftest import household_input, make_pdf, unit_input

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)     # Monday 09:00 in Shanghai
DAY = dt.timedelta(days=1)
PDF = make_pdf("材料")
REVIEWER = ("reviewer",)


def new_household(procedure, root, when=T0, **extra):
    return procedure.open_dossier(root, "household", household_input(**extra), "archivist", when=when)


def new_unit(procedure, root, state="vacant", when=T0, **extra):
    return procedure.open_dossier(root, "unit", unit_input(**extra), "archivist", when=when,
                                  state=state)


def file(registry, dossier, *types, when=T0):
    """File documents dated the day before ``when`` (papers are dated before they are filed)."""
    for code in types:
        filing.file_document(dossier, registry, {"doc_type": code, "title": code,
                                                 "date": (when - DAY).date().isoformat(),
                                                 "issuer": "住建局"}, PDF, f"{code}.pdf", "archivist",
                             when=when)


def stage_docs(procedure, dossier, stage):
    return procedure.profile(dossier).required_documents(stage)


def step(procedure, root, dossier, name, when, comment="同意", roles=REVIEWER, **kw):
    return procedure.perform(root, dossier, name, "reviewer", roles, comment, when=when, **kw)


def prepared(procedure, root, registry, dossier, name, when, stage=None, **kw):
    """File the stage's documents, then take the step."""
    file(registry, dossier, *stage_docs(procedure, dossier, stage or name), when=when)
    return step(procedure, root, dossier, name, when, **kw)


def after_period(procedure, dossier, name, when):
    """The first moment after the profile's period ``name`` has run from entering the state."""
    from archive.workflow.workdays import after
    end = after(procedure.today(dossier.state_since), procedure.profile(dossier).duration(name)).day
    return max(when, dt.datetime.combine(end + DAY, dt.time(1), dt.timezone.utc))


def to_registered(procedure, root, registry, household, when=T0):
    for name in ("accept", "approve", "publish"):
        prepared(procedure, root, registry, household, name, when)
    when = after_period(procedure, household, "publicity", when)
    prepared(procedure, root, registry, household, "register", when)
    return when
