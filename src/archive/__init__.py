"""公租房档案管理系统 — the archive system for public rental housing offices.

``main`` is the only place the application is assembled: schemas compiled, security
policy, sessions, CSRF, transactions, the store and the views.
"""
from __future__ import annotations

import logging
import os
import pathlib
import secrets

import deform
import transaction
from pyramid.config import Configurator
from pyramid.i18n import get_localizer
from pyramid.renderers import JSON
from pyramid.session import SignedCookieSessionFactory
from pyramid.settings import asbool
from pyramid.threadlocal import get_current_request

from . import store
from .i18n import Catalog, negotiate_locale, translator, ui_locale
from .root import bootstrap
from .search import index_directory
from .search.index import SearchIndex
from .schema.registry import SchemaRegistry, default_directory
from .access.security import ArchiveSecurityPolicy, RoleMatrix, is_token_request
from .access.throttle import LoginThrottle
from .access.users import hasher_from_settings
from .custody import arrangement
from .custody.arrangement import compile_rules
from .disposition.schedule import compile_schedule
from .workflow import procedure_from_settings
from .workers.service import Service, enabled as workers_enabled

from .evolve import alias_moved_modules

alias_moved_modules()   # databases written before the layout name the old modules
log = logging.getLogger(__name__)
PROJECT_DIR = pathlib.Path(__file__).resolve().parents[2]


def main(global_config, **settings):
    """Build the WSGI application from ini settings."""
    settings.setdefault("tm.manager_hook", "pyramid_tm.explicit_manager")
    settings.setdefault("retry.attempts", "5")
    # A response with a 4xx/5xx status never commits, even if a view wrote before refusing.
    settings.setdefault("tm.commit_veto", "pyramid_tm.default_commit_veto")
    settings.setdefault("pyramid.default_locale_name", "zh_Hans")
    settings.setdefault("tm.activate_hook", "archive.views.health.tm_wanted")   # not for /healthz
    config = Configurator(settings=settings, root_factory=store.root_factory)
    for name in ("pyramid_tm", "pyramid_retry", "pyramid_chameleon"):
        config.include(name)
    config.include(store.includeme)   # pyramid_zodbconn, with blobs kept by the FileStorage

    schemas_dir = pathlib.Path(settings.get("archive.schemas_dir") or default_directory())
    registry = config.registry
    registry.archive_schemas = SchemaRegistry(schemas_dir)
    registry.archive_roles = RoleMatrix(schemas_dir / "roles.yaml")
    # 整理: the retention table (schemas/retention.yaml) checked against the vocabularies
    registry.archive_custody = compile_rules(registry.archive_schemas)
    registry.archive_procedure = procedure_from_settings(settings, registry.archive_schemas,
                                                         registry.archive_roles)
    registry.archive_profiles = registry.archive_procedure.profiles
    # 鉴定与处置: when each kind's retention period starts (schemas/disposition.yaml)
    registry.archive_disposition = compile_schedule(registry.archive_schemas,
                                                    registry.archive_procedure.workflows,
                                                    rules=registry.archive_custody)
    install_rules(registry.archive_disposition)
    registry.archive_catalog = Catalog()
    registry.archive_search = SearchIndex(index_directory(settings, PROJECT_DIR))
    registry.archive_hasher = hasher_from_settings(settings)
    stored_secret = _open_store(registry)   # before the sessions, which may sign with its secret
    db = registry._zodb_databases[""]
    registry.archive_throttle = LoginThrottle(
        db, int(settings.get("archive.login_failures", 5)),
        int(settings.get("archive.login_window_minutes", 15)) * 60)
    registry.archive_upload_limit = int(float(settings.get("archive.max_upload_mb", 50)) * 1024 * 1024)
    registry.archive_patterns = {k.rsplit(".", 1)[1]: v for k, v in settings.items()
                                 if k.startswith("archive.number_pattern.") and v}

    config.set_security_policy(ArchiveSecurityPolicy(registry.archive_roles))
    config.set_session_factory(SignedCookieSessionFactory(
        _session_secret(settings, stored_secret), httponly=True, samesite="Lax",
        secure=asbool(settings.get("archive.secure_cookies", False)), timeout=8 * 3600,
        reissue_time=600))
    # Every unsafe request needs the CSRF token, except token-authenticated API calls,
    # which no browser can forge because the browser never holds the token.
    config.set_default_csrf_options(require_csrf=True, callback=lambda r: not is_token_request(r))
    # JSON keeps Chinese readable instead of \uXXXX escapes.
    config.add_renderer("json", JSON(ensure_ascii=False))
    config.add_request_method(translator, "t", reify=True)
    config.add_request_method(ui_locale, "ui_locale", reify=True)
    config.add_translation_dirs("colander:locale/", "deform:locale/")
    config.set_locale_negotiator(negotiate_locale)
    _deform_renderer()
    _serialise_template_compilation()
    config.add_static_view("static", str(PROJECT_DIR / "static"), cache_max_age=3600)
    config.add_static_view("deform_static", "deform:static/", cache_max_age=3600)
    config.include(".views")
    app = config.make_wsgi_app()
    if workers_enabled(settings):    # off on the web servers of a cluster: archive worker does it
        registry.archive_workers = Service(db, settings, registry.archive_schemas,
                                           registry.archive_procedure, registry.archive_search).start()
    return app


def close(app):
    """Stop what ``main`` started — the background workers, then the database — for callers
    that make the app in their own process and must leave no thread or open file behind
    (the tests' fixture, bench/ocr.py)."""
    from .workers.background import Worker
    service = getattr(app.registry, "archive_workers", None)
    if service is not None:
        service.stop(10)
    for worker in [w for w in vars(app.registry).values() if isinstance(w, Worker)]:
        worker.stop()
        worker.join(10)
    for purge in getattr(app.registry, "archive_purges", ()):   # a pack after a destruction
        purge.join(120)                                          # ends before its store closes
    for db in app.registry._zodb_databases.values():
        db.close()
    if arrangement.installed() is getattr(app.registry, "archive_custody", None):
        install_rules(None)            # the next app (a test's) starts from the shipped ones


def install_rules(schedule):
    """The disposition schedule this process runs on, and the retention rules it was compiled
    with (``schedule.rules``), for the model's defaults (archive.custody.arrangement.install,
    archive.disposition.schedule.install); None: the shipped ones."""
    from .disposition import schedule as schedules
    arrangement.install(schedule.rules if schedule is not None else None)
    schedules.install(schedule)


def _serialise_template_compilation():
    """Chameleon compiles each template to Python on first use; two waitress threads doing so
    at once can make CPython 3.11's compile() fail (SystemError: AST constructor recursion
    depth mismatch, seen as a 500 under load). One lock around the compilation: it happens
    once per template, so the lock costs nothing afterwards."""
    import threading

    from chameleon.template import BaseTemplate
    if getattr(BaseTemplate.cook, "serialised", False):
        return
    lock, cook = threading.RLock(), BaseTemplate.cook

    def serialised(self, body):
        with lock:
            return cook(self, body)
    serialised.serialised = True
    BaseTemplate.cook = serialised


def _session_secret(settings, stored):
    """The ini's secret; else, with the embedded FileStorage, the one generated once into
    var/ (so restarts keep sessions, as before); else the secret kept in the database, the
    same for every server of a cluster (a session begun on one is good on the others)."""
    secret = settings.get("archive.session_secret")
    if secret:
        return secret
    if store.is_shared(settings.get("zodbconn.uri", "")):
        return stored
    path = PROJECT_DIR / "var" / "session_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    return path.read_text().strip()


def _deform_renderer():
    """deform's templates, translated with the current request's localizer."""
    def translate(term):
        request = get_current_request()
        return get_localizer(request).translate(term) if request is not None else term
    deform.Form.set_zpt_renderer(deform.Form.default_renderer.loader.search_path,
                                 translator=translate)


def _open_store(registry):
    """Create or upgrade the ArchiveRoot before the first request; returns its session secret.

    Several servers of a cluster may start at once on a new or older database: all but one
    then meet a conflict, and find the root made or upgraded when they try again."""
    from ZODB.POSException import ConflictError
    db = registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        for attempt in range(5):
            try:
                with tm:
                    return bootstrap(conn.root(), registry.archive_schemas).session_secret
            except ConflictError:
                if attempt == 4:
                    raise
    finally:
        conn.close()
