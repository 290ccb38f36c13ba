"""The web console at ``/console``: server-rendered pages for operators, developers and
tenant admins."""

from tenantgate.console.app import create_console

__all__ = ["create_console"]
