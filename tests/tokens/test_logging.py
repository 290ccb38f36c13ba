"""Client secrets and access tokens are never written to a log, whatever the log level."""

from __future__ import annotations

import logging

import structlog

from tests import factories as f
from tests.tokens.calls import basic, introspect, invalidate


async def test_secrets_and_tokens_stay_out_of_the_logs(client, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # SQL and its parameters
    guessed_secret = "tgs_a-guess-that-is-wrong-but-still-a-secret"
    with structlog.testing.capture_logs() as structured:
        setup = await f.accepted_setup(client)
        token = (await f.get_token(client, setup))["access_token"]
        basic_token = (
            await client.post(
                "/v1/token",
                data={"grant_type": "client_credentials", "scope": f"tenantid:{setup.tenant_id}"},
                headers=basic(setup.client_id, setup.client_secret),
            )
        ).json()["access_token"]
        await client.post("/v1/token", data=setup.form(client_secret=guessed_secret))
        await client.post("/v1/token", data=setup.form(scope="tenantid:unknownTenant"))
        await client.get(
            "/v1/fwd/cluster-release/sdmo/api",
            params={"query": "{ __typename }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        await introspect(client, token)
        await invalidate(client, token)
        await f.get_token(client, setup)  # waits for the refusals' commit

    printed = capsys.readouterr()
    logged = "\n".join(
        [
            printed.out,
            printed.err,
            caplog.text,
            *(repr(record.args) for record in caplog.records),
            *(repr(event) for event in structured),
        ]
    )
    for secret in (setup.client_secret, guessed_secret, token, basic_token):
        assert secret not in logged
    token_signature = token.rsplit(".", 1)[1]
    assert token_signature not in logged
