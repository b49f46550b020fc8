"""GET /api/docs: the OpenAPI document (/api/openapi.json) for a person to read and try,
in Swagger UI — served by the application itself, with no outside network.

Swagger UI's files come from the ``openapi-ui-bundles`` package (pinned in pyproject.toml;
Swagger UI 5, which reads OpenAPI 3.1), read from the installed package and served under
/api/docs/assets/. The page carries no inline script (the start-up script is an asset of
its own) and a Content-Security-Policy that lets the browser load and ask nothing but this
server; Swagger UI's online validator (validator.swagger.io) is switched off.

The paths hang on the ``/api/*rest`` catch-all route with a ``path_info`` predicate, so
they need no route of their own and are not part of the JSON API that /api/openapi.json
describes.
"""
from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path

from pyramid.response import Response
from pyramid.view import view_config

ASSETS = {  # what the page uses from the bundle, and nothing else is served
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
          "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
CACHE_SECONDS = 24 * 3600


def bundle_dir() -> Path:
    """Swagger UI's static files, as the openapi-ui-bundles package installed them."""
    from openapi_ui_bundles import swagger_ui
    return Path(swagger_ui.static_path)


@lru_cache(maxsize=None)
def _asset(name) -> bytes:
    return (bundle_dir() / name).read_bytes()


PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="{assets}/favicon-16x16.png" sizes="16x16">
</head>
<body>
<noscript><p>本页用 Swagger UI 显示接口说明，需要启用 JavaScript；机器可读的说明见
<a href="{spec}">{spec}</a>。</p></noscript>
<div id="swagger-ui" data-spec="{spec}"></div>
<script src="{assets}/swagger-ui-bundle.js" charset="utf-8"></script>
<script src="{start}" charset="utf-8"></script>
</body>
</html>
"""

START = """window.addEventListener("load", function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    persistAuthorization: false,
    tryItOutEnabled: false
  });
});
"""


def _secure(response):
    response.headers["Content-Security-Policy"] = POLICY
    return response


@view_config(route_name="api_any", request_method="GET", path_info=r"^/api/docs/?$")
def docs_page(request):
    """接口说明 for people: Swagger UI over /api/openapi.json (public, like the document)."""
    body = PAGE.format(title=html.escape("公租房档案管理系统 API 接口说明"),
                       spec=html.escape(request.route_path("api_openapi")),
                       assets=html.escape(request.script_name + "/api/docs/assets"),
                       start=html.escape(request.script_name + "/api/docs/start.js"))
    return _secure(Response(body=body.encode("utf-8"), content_type="text/html", charset="utf-8"))


@view_config(route_name="api_any", request_method="GET", path_info=r"^/api/docs/start\.js$")
def docs_start(request):
    response = Response(body=START.encode("utf-8"), content_type="application/javascript",
                        charset="utf-8")
    response.cache_control.max_age = CACHE_SECONDS
    return _secure(response)


@view_config(route_name="api_any", request_method="GET",
             path_info=r"^/api/docs/assets/[A-Za-z0-9._-]+$")
def docs_asset(request):
    """One of Swagger UI's files from the installed bundle; any other name is a 404."""
    name = request.path_info.rsplit("/", 1)[-1]
    if name not in ASSETS:
        from pyramid.httpexceptions import HTTPNotFound
        raise HTTPNotFound(request.t("接口不存在"))
    response = Response(body=_asset(name), content_type=ASSETS[name])
    if ASSETS[name] != "image/png":
        response.charset = "utf-8"
    response.cache_control.max_age = CACHE_SECONDS
    response.cache_control.public = True
    response.conditional_response = True
    response.md5_etag()
    return _secure(response)
