"""Set up an application accepted by a new tenant whose apps are the server's reference apps,
through the admin API, and write a Postman environment holding its credentials.

    python make_environment.py http://127.0.0.1:8000 env.json   # TENANTGATE_ADMIN_TOKEN set
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx

TEMPLATE = Path(__file__).with_name("tenantgate.postman_environment.json")
APPS = ("sdmo", "shopfloor")


def main(base_url: str, out: Path) -> None:
    token = os.environ["TENANTGATE_ADMIN_TOKEN"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{base_url}/admin/v1", headers=headers, timeout=10) as admin:
        app = admin.post("/applications", json={"name": "Postman"}).raise_for_status().json()
        tenant_body = {"name": "Postman tenant", "region": "eu", "cluster": "cluster-release"}
        tenant = admin.post("/tenants", json=tenant_body).raise_for_status().json()
        tenant_id = tenant["tenant_id"]
        for name in APPS:
            upstream = {"graphql_url": f"{base_url}/refapps/{name}/graphql"}
            admin.put(f"/tenants/{tenant_id}/apps/{name}", json=upstream).raise_for_status()
        user = {"first_name": "Postman", "last_name": "Runner", "enabled": True}
        admin.put(
            f"/tenants/{tenant_id}/api-users/{app['application_id']}", json=user
        ).raise_for_status()
    values = {
        "baseUrl": base_url,
        "clientId": app["client_id"],
        "clientSecret": app["client_secret"],
        "tenantId": tenant_id,
    }
    environment = json.loads(TEMPLATE.read_text())
    for variable in environment["values"]:
        variable["value"] = values[variable["key"]]
    out.write_text(json.dumps(environment, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
