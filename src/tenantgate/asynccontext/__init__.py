"""``/v1/asyncContext/<id>/upload`` and ``/error``: an integration (in the reference system, an
on-premise ERP) hands a payload or an error report to the tenant, bearer-authenticated and
size-limited; the operator reads them back through the admin API."""
