"""A self-contained query page for browsers (no assets from a CDN)."""

from __future__ import annotations

import html
import secrets

from starlette.responses import HTMLResponse

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style nonce="{nonce}">
body {{ font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; }}
textarea, input {{ width: 100%; font-family: ui-monospace, monospace; box-sizing: border-box; }}
textarea {{ height: 12rem; }}
pre {{ background: #f4f4f4; padding: 1rem; overflow: auto; min-height: 4rem; }}
label {{ display: block; margin-top: 0.75rem; font-weight: 600; }}
button {{ margin-top: 0.75rem; padding: 0.4rem 1.2rem; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>GraphQL endpoint of the <code>{app}</code> reference app. Every request needs the
<code>Authorization: Bearer &lt;access token&gt;</code> and <code>X-Tenant-Id</code> headers that
the tenantgate gateway sets. Send <code>POST</code> with a JSON body
<code>{{"query": ..., "variables": ...}}</code>, or <code>GET ?query=...</code> for queries.</p>
<form id="run">
<label for="token">Bearer token</label><input id="token" autocomplete="off">
<label for="tenant">Tenant id</label><input id="tenant" autocomplete="off">
<label for="query">Query</label><textarea id="query">{example}</textarea>
<label for="variables">Variables (JSON)</label><input id="variables" value="{{}}">
<button type="submit">Run</button>
</form>
<pre id="result"></pre>
<script nonce="{nonce}">
document.getElementById("run").addEventListener("submit", async (event) => {{
  event.preventDefault();
  const value = (id) => document.getElementById(id).value;
  const out = document.getElementById("result");
  try {{
    const response = await fetch(window.location.pathname, {{
      method: "POST",
      headers: {{
        "content-type": "application/json",
        "authorization": "Bearer " + value("token").trim(),
        "x-tenant-id": value("tenant").trim(),
      }},
      body: JSON.stringify({{
        query: value("query"),
        variables: JSON.parse(value("variables") || "{{}}"),
      }}),
    }});
    out.textContent = response.status + "\\n" + JSON.stringify(await response.json(), null, 2);
  }} catch (error) {{
    out.textContent = String(error);
  }}
}});
</script>
</body>
</html>
"""


def explorer_response(app_name: str, example_query: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    page = _PAGE.format(
        title=html.escape(f"tenantgate · {app_name} GraphQL"),
        app=html.escape(app_name),
        example=html.escape(example_query),
        nonce=nonce,
    )
    policy = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'"
    )
    return HTMLResponse(page, headers={"content-security-policy": policy})
