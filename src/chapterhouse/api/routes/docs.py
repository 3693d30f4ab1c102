"""/docs: Swagger UI served from this process, so its Content-Security-Policy can stay strict.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script; here the
assets come from the `swagger-ui-bundle` package and the start-up code is a file, so the page
needs neither a third-party origin nor `'unsafe-inline'` scripts (see `DOCS_CSP`).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/swagger-ui"

# Relative URLs, so the page also works behind a proxy that serves the API under a prefix.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>chapterhouse - API documentation</title>
<link rel="stylesheet" href="docs/swagger-ui/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/swagger-ui/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
"""

# validatorUrl null: Swagger UI would otherwise send the schema to validator.swagger.io.
INIT_JS = """window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis]
});
"""

router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH, response_class=HTMLResponse)
def docs_page() -> HTMLResponse:
    """The interactive API documentation."""
    return HTMLResponse(PAGE)


@router.get(f"{DOCS_PATH}/init.js")
def docs_init() -> Response:
    """Swagger UI's start-up code, as a file rather than an inline script."""
    return Response(INIT_JS, media_type="text/javascript")


def install_docs(app: FastAPI) -> None:
    """Serve /docs and the Swagger UI assets it loads."""
    from swagger_ui_bundle import swagger_ui_path

    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")
