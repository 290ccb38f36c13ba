"""Which roles an API user holds, as the API-user forms of ``console.tenants`` offer them."""

from __future__ import annotations

from tenantgate.console.web import Call

OFFERED = 1000  # the API-user form offers the tenant's first thousand roles, by name


async def tenant_role_names(call: Call, tenant_id: str) -> list[str]:
    page = await call.services.registry.roles.list(tenant_id, limit=OFFERED)
    return [role.name for role in page.items]


def chosen_roles(call: Call, held: list[str] | None = None) -> list[str] | None:
    """``access=roles`` with the ticked ``roles`` (none ticked: nothing allowed), or
    ``access=apps``: no roles, whatever its apps allow. A form without ``access`` changes
    nothing: ``held``, the roles the API user holds now."""
    access = call.value("access")
    if access == "roles":
        return call.values("roles")
    return None if access == "apps" else held
