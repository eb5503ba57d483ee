"""Public widget visitors: signed anonymous identities, only for allowed origins."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from agent.config import Settings
from ui.visitors import ROUTE, issue_visitor, verify_visitor, visitor_route

SECRET = "s" * 48
SITE = "https://shop.example"


def test_a_visitor_token_names_its_visitor_and_cannot_be_forged() -> None:
    visitor, token = issue_visitor(SECRET)
    assert visitor.startswith("visitor:v_")
    assert verify_visitor(SECRET, token) == visitor
    ident, issued, mac = token.split(".")
    assert verify_visitor(SECRET, f"{ident}x.{issued}.{mac}") is None  # another id
    other = "B" if mac.endswith("A") else "A"  # a different last character, always
    assert verify_visitor(SECRET, f"{ident}.{issued}.{mac[:-1]}{other}") is None
    assert verify_visitor("another secret" * 4, token) is None
    assert verify_visitor(SECRET, "garbage") is None
    assert issue_visitor(SECRET)[0] != visitor  # every browser gets its own


@pytest.fixture
def http(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> httpx.AsyncClient:
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", SECRET)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, public_widget=True, widget_origins=f"{SITE}, https://other.example/"
    )
    from chainlit.auth import create_jwt
    from chainlit.user import User

    def mint(visitor: str) -> str:
        return str(create_jwt(User(identifier=visitor, metadata={"visitor": True})))

    app = Starlette(routes=[visitor_route(settings, lambda: SECRET, mint)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://atelier")


async def test_allowed_origins_get_an_identity_and_a_widget_token(http: httpx.AsyncClient) -> None:
    from chainlit.auth.jwt import decode_jwt

    async with http:
        first = await http.post(ROUTE, json={}, headers={"Origin": SITE})
        assert first.status_code == 200, first.text
        assert first.headers["access-control-allow-origin"] == SITE
        body = first.json()
        assert decode_jwt(body["accessToken"]).identifier == body["user"]
        # The same browser comes back with its token: same visitor.
        again = await http.post(ROUTE, json={"visitor": body["visitor"]}, headers={"Origin": SITE})
        assert again.json()["user"] == body["user"]
        # A forged or foreign token just gets a fresh identity.
        forged = await http.post(
            ROUTE, json={"visitor": body["visitor"] + "x"}, headers={"Origin": SITE}
        )
        assert forged.json()["user"] != body["user"]
        preflight = await http.options(ROUTE, headers={"Origin": "https://other.example"})
        assert preflight.status_code == 204


async def test_other_origins_are_refused(http: httpx.AsyncClient) -> None:
    async with http:
        for headers in ({"Origin": "https://evil.example"}, {}):
            refused = await http.post(ROUTE, json={}, headers=headers)
            assert refused.status_code == 403
            assert "accessToken" not in refused.text
