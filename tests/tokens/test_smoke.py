from tests import factories as f


async def test_a_newly_accepted_application_gets_a_token(client):
    setup = await f.accepted_setup(client)
    body = await f.get_token(client, setup)
    assert body["token_type"] == "Bearer"
    assert body["tenant_id"] == setup.tenant_id
    assert set(body["urls"]["apps"]) == {"sdmo", "shopfloor"}
