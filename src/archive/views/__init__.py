"""The web layer: routes for the UI and the JSON API. Views are thin; the model decides."""

KIND = "{kind:households|units}"


def includeme(config):
    r = config.add_route
    r("login", "/login")
    # health for load balancers and monitors, no login: views/health.py
    r("healthz", "/healthz", factory="archive.views.health.HealthContext")
    r("logout", "/logout")
    r("locale", "/locale/{code:zh|en}")
    r("home", "/")
    r("log", "/log")
    r("users", "/users")
    r("user_new", "/users/new")
    r("user", "/users/{login}")
    r("user_token", "/users/{login}/token")
    # lottery (摇号): views/lottery.py
    r("lotteries", "/lotteries")
    r("lottery_new", "/lotteries/new")
    r("lottery", "/lotteries/{lottery_id}")
    r("lottery_verify", "/lotteries/{lottery_id}/verify")
    dossier = dict(traverse="/{kind}/{no}")
    r("dossiers", f"/{KIND}")
    r("dossier_new", f"/{KIND}/new")
    r("dossier", f"/{KIND}/{{no}}", **dossier)
    r("dossier_edit", f"/{KIND}/{{no}}/edit", **dossier)
    r("dossier_version", f"/{KIND}/{{no}}/versions/{{n:\\d+}}", **dossier)
    r("dossier_diff", f"/{KIND}/{{no}}/diff", **dossier)
    r("dossier_restore", f"/{KIND}/{{no}}/restore", **dossier)
    r("document_new", f"/{KIND}/{{no}}/documents/new", **dossier)
    r("document_file", f"/{KIND}/{{no}}/documents/{{doc}}/files/{{n:\\d+}}", **dossier)
    r("document_refile", f"/{KIND}/{{no}}/documents/{{doc}}/refile", **dossier)
    r("document_withdraw", f"/{KIND}/{{no}}/documents/{{doc}}/withdraw", **dossier)
    r("dossier_transition", f"/{KIND}/{{no}}/transitions/{{name}}", **dossier)
    r("worklist", "/worklist")
    # search and case histories: views/search.py, views/history.py
    r("search", "/search")
    r("inspections", "/inspections")
    r("household_history", "/households/{no}/history", traverse="/households/{no}")
    # integrity audits and the credit record: views/audits.py, views/credit.py
    r("audits", "/audits")
    r("audit", "/audits/{run_id}")
    r("audit_acks", "/audits/{run_id}/acks")
    r("audit_csv", "/audits/{run_id}/report.csv")
    r("audit_pdf", "/audits/{run_id}/report.pdf")
    r("credit", "/credit")
    r("household_credit_new", "/households/{no}/credit/new", traverse="/households/{no}")

    r("api_openapi", "/api/openapi.json")
    # lottery (摇号): views/lottery.py
    r("api_lotteries", "/api/lotteries")
    r("api_lottery", "/api/lotteries/{lottery_id}")
    r("api_dossiers", f"/api/{KIND}")
    r("api_dossier", f"/api/{KIND}/{{no}}", **dossier)
    r("api_documents", f"/api/{KIND}/{{no}}/documents", **dossier)
    r("api_document", f"/api/{KIND}/{{no}}/documents/{{doc}}", **dossier)
    r("api_document_content", f"/api/{KIND}/{{no}}/documents/{{doc}}/content", **dossier)
    r("api_document_files", f"/api/{KIND}/{{no}}/documents/{{doc}}/files", **dossier)
    r("api_document_withdraw", f"/api/{KIND}/{{no}}/documents/{{doc}}/withdraw", **dossier)
    r("api_versions", f"/api/{KIND}/{{no}}/versions", **dossier)
    r("api_version", f"/api/{KIND}/{{no}}/versions/{{n}}", **dossier)
    r("api_diff", f"/api/{KIND}/{{no}}/diff", **dossier)
    r("api_restore", f"/api/{KIND}/{{no}}/restore", **dossier)
    r("api_transitions", f"/api/{KIND}/{{no}}/transitions", **dossier)
    r("api_worklist", "/api/worklist")
    r("api_search", "/api/search")
    r("api_household_history", "/api/households/{no}/history", traverse="/households/{no}")
    r("api_audits", "/api/audits")
    r("api_audit", "/api/audits/{run_id}")
    r("api_audit_acks", "/api/audits/{run_id}/acks")
    r("api_credit", "/api/credit")
    r("api_household_credit", "/api/households/{no}/credit", traverse="/households/{no}")
    r("api_any", "/api/*rest")
    from pyramid.events import BeforeRender, NewResponse
    from .base import renderer_globals, security_headers
    config.add_subscriber(renderer_globals, BeforeRender)
    config.add_subscriber(security_headers, NewResponse)
    config.include(".conflicts")
    config.include(".input")  # hostile input refused before any view: views/input.py
    config.scan(".")
