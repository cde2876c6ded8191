"""Delivering to a URL a person typed: only public addresses, checked where
the connection really goes (no outside network: test resolvers and policies)."""

import ipaddress

import pytest

from tests.helpers.webhook_receiver import receiving
from webhooks import transport

BODY = b'{"type": "webhook.test"}'


def post(url: str, **options):  # type: ignore[no-untyped-def]
    return transport.post(url, content=BODY, headers={"webhook-id": "msg_1"}, **options)


def resolver_to(*answers: list[str]):  # type: ignore[no-untyped-def]
    """A resolver giving each answer in turn (the last repeats), counting calls."""
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[min(len(calls), len(answers)) - 1]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # cloud metadata
        "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
    ],
)
def test_private_local_and_multicast_addresses_are_refused(address) -> None:  # type: ignore[no-untyped-def]
    assert not transport.address_allowed(
        ipaddress.ip_address(address), allow_private=False
    )


def test_public_addresses_are_allowed() -> None:
    for address in ("93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"):
        assert transport.address_allowed(
            ipaddress.ip_address(address), allow_private=False
        )


def test_allow_private_opens_loopback_and_private_but_never_link_local() -> None:
    allowed = [
        transport.address_allowed(ipaddress.ip_address(a), allow_private=True)
        for a in (
            "127.0.0.1",
            "10.0.0.1",
            "::1",
            "169.254.169.254",
            "fe80::1",
            "224.0.0.1",
        )
    ]
    assert allowed == [True, True, True, False, False, False]


def test_loopback_receiver_is_not_called_when_private_addresses_are_off(
    settings,
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with receiving() as receiver:
        answer = post(receiver.url)
    assert answer.refused and answer.status_code is None
    assert "private or local address" in answer.error
    assert receiver.received == []


def test_a_name_resolving_to_a_private_address_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with receiving() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        answer = post(
            f"http://hooks.example.test:{port}/hooks",
            resolver=resolver_to(["127.0.0.1"]),
        )
    assert answer.refused
    assert "hooks.example.test resolves to 127.0.0.1" in answer.error
    assert receiver.received == []


def test_a_name_with_any_private_answer_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = False
    answer = post(
        "http://mixed.example.test/hooks",
        resolver=resolver_to(["93.184.216.34", "10.0.0.5"]),
    )
    assert answer.refused and "10.0.0.5" in answer.error


def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    """DNS rebinding: the name is resolved once per hop and the connection goes
    to the address checked, so a second, private answer is never used. The
    policy plays the internet: 127.0.0.2 is "public", 127.0.0.1 private."""
    with receiving(host="127.0.0.1") as private, receiving(host="127.0.0.2") as public:
        port = public.url.split(":")[2].split("/")[0]
        resolve = resolver_to(["127.0.0.2"], ["127.0.0.1"])
        answer = post(
            f"http://rebind.example.test:{port}/hooks",
            resolver=resolve,
            policy=lambda address: str(address) == "127.0.0.2",
        )
    assert answer.status_code == 200
    assert resolve.calls == ["rebind.example.test"]  # type: ignore[attr-defined]
    assert len(public.received) == 1 and private.received == []
    assert public.received[0].headers["host"] == f"rebind.example.test:{port}"


def test_a_redirect_to_a_private_address_is_refused() -> None:
    with receiving(host="127.0.0.1") as private:
        with receiving(host="127.0.0.2", redirect_to=private.url) as public:
            answer = post(
                public.url, policy=lambda address: str(address) == "127.0.0.2"
            )
    assert answer.refused and "127.0.0.1" in answer.error
    assert len(public.received) == 1 and private.received == []


def test_redirects_are_followed_with_the_same_body_at_most_three_times(
    settings,
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with receiving() as final, receiving(redirect_to=final.url) as first:
        answer = post(first.url)
    assert answer.status_code == 200
    assert len(first.received) == 1
    assert final.received[0].body == BODY
    assert final.received[0].headers["webhook-id"] == "msg_1"
    with receiving() as loop:
        loop.redirect_to = loop.url
        answer = post(loop.url)
    assert answer.status_code is None and "redirects" in answer.error
    assert len(loop.received) == transport.MAX_REDIRECTS + 1


def test_only_http_and_https_urls_are_accepted() -> None:
    assert transport.url_problem("ftp://example.com/x")
    assert transport.url_problem("file:///etc/passwd")
    assert transport.url_problem("gopher://example.com/")
    assert transport.url_problem("https://user:pw@example.com/")
    assert transport.url_problem("not a url at all")
    assert transport.url_problem("https://example.com/hooks") is None


def test_a_hanging_receiver_costs_one_timeout(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    with receiving(hold=True) as receiver:
        answer = post(receiver.url)
    assert answer.status_code is None
    assert answer.error == "No answer within the time limit."
    assert not answer.refused


def test_connection_refused_is_an_error_to_retry(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with receiving() as receiver:
        url = receiver.url
    answer = post(url)  # the server is gone
    assert answer.status_code is None and not answer.refused
    assert answer.error == "Could not connect."


def test_retry_after_is_read_in_seconds_and_as_a_date(settings) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_PRIVATE = True
    with receiving(answers=[429], headers={429: {"Retry-After": "120"}}) as receiver:
        assert post(receiver.url).retry_after == 120
    assert transport._retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert transport._retry_after("soon") is None
