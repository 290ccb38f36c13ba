"""tenantgate: a self-hostable multi-tenant API access platform."""

__version__ = "0.1.0"
