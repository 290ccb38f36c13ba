"""The registry's errors are tenantgate's own (:mod:`tenantgate.errors`), so that the admin
API, the console and the CLI answer them as they answer their own."""

from tenantgate.errors import Conflict, Gone, InvalidInput, NotFound
from tenantgate.errors import TenantgateError as RegistryError

__all__ = ["Conflict", "Gone", "InvalidInput", "NotFound", "RegistryError"]
