"""POST a webhook to a URL a person typed, without letting it reach inside.

The host is resolved once per hop, every address it resolves to is checked
(loopback, private, link-local including cloud metadata at 169.254.169.254,
multicast, reserved; IPv4-mapped IPv6 unwrapped), and the connection goes to
the address that was checked (the Host header and TLS SNI keep the name, so
certificates are still verified against it): a DNS answer that changes
between the check and the connect is never used. Redirects are followed by
hand, at most MAX_REDIRECTS, each hop checked again. Environment proxies are
ignored (they would connect on our behalf, unchecked). Each operation has a
few seconds; the answer's body is read up to MAX_BODY_BYTES.
"""

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import httpx
from django.conf import settings

MAX_REDIRECTS = 3
MAX_BODY_BYTES = 64 * 1024
EXCERPT_CHARS = 500
REDIRECTS = {301, 302, 303, 307, 308}
USER_AGENT = "MuxMinus-Webhooks/1"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
Policy = Callable[[Address], bool]


class Refused(Exception):
    """The URL may not be called: a scheme or an address that is not allowed."""


@dataclass(frozen=True)
class Answer:
    """How one attempt went: a status code, or an error for people."""

    status_code: int | None
    duration_ms: int
    error: str = ""
    excerpt: str = ""
    retry_after: float | None = None
    refused: bool = False


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_allowed(address: Address, *, allow_private: bool) -> bool:
    """Public unicast only; loopback and private ranges too with allow_private.
    Link-local (cloud metadata), multicast and unspecified never."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        return False
    if allow_private and (address.is_private or address.is_loopback):
        return True
    return address.is_global


def default_policy(address: Address) -> bool:
    return address_allowed(address, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)


def url_problem(url: str) -> str | None:
    """Why a URL can never be delivered to (a scheme, no host), else None.

    The address is checked at delivery, when it is resolved."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return "This is not a valid URL."
    if parsed.scheme not in ("http", "https"):
        return "Webhook URLs must start with http:// or https://."
    if not parsed.host:
        return "This URL has no host name."
    if parsed.userinfo:
        return (
            "Put no user name or password in a webhook URL; check the "
            "signature instead."
        )
    literal = _ip_literal(parsed.host)
    if literal is not None and not default_policy(literal):
        return "This URL points at a private or local address, which is not allowed."
    return None


def _ip_literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _pin(url: httpx.URL, resolver: Resolver, policy: Policy) -> httpx.URL:
    """The URL with its host replaced by the checked address it resolves to."""
    if url.scheme not in ("http", "https") or not url.host:
        raise Refused(f"Only http and https URLs are called, not {url.scheme}.")
    port = url.port or (443 if url.scheme == "https" else 80)
    literal = _ip_literal(url.host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a) for a in resolver(url.host, port)]
        except (OSError, UnicodeError) as error:
            raise ConnectionError(f"Could not find {url.host}: {error}.") from error
        if not addresses:
            raise ConnectionError(f"Could not find {url.host}.")
    for address in addresses:
        if not policy(address):
            raise Refused(
                f"{url.host} resolves to {address}, a private or local address; "
                "webhooks are only sent to public addresses."
            )
    return url.copy_with(host=str(addresses[0]))


def post(
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    resolver: Resolver = system_resolver,
    policy: Policy = default_policy,
) -> Answer:
    """POST `content` to `url`, following at most MAX_REDIRECTS checked redirects."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    timeout = float(settings.WEBHOOK_TIMEOUT_SECONDS)
    target = httpx.URL(url)
    with httpx.Client(
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        transport=httpx.HTTPTransport(retries=0),
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                pinned = _pin(target, resolver, policy)
                status, location, excerpt, retry_after = _send(
                    client,
                    pinned,
                    target,
                    content,
                    headers,
                    deadline=started + 2 * timeout,
                )
            except Refused as refusal:
                return Answer(None, took(), error=str(refusal), refused=True)
            except ConnectionError as error:
                return Answer(None, took(), error=str(error))
            except httpx.TimeoutException:
                return Answer(None, took(), error="No answer within the time limit.")
            except httpx.HTTPError as error:
                return Answer(None, took(), error=_describe(error))
            if status in REDIRECTS and location:
                target = httpx.URL(urljoin(str(target), location))
                continue
            return Answer(status, took(), excerpt=excerpt, retry_after=retry_after)
    return Answer(
        None, took(), error=f"More than {MAX_REDIRECTS} redirects.", refused=True
    )


def _send(
    client: httpx.Client,
    pinned: httpx.URL,
    target: httpx.URL,
    content: bytes,
    headers: dict[str, str],
    *,
    deadline: float,
) -> tuple[int, str, str, float | None]:
    host = target.host if target.port is None else f"{target.host}:{target.port}"
    if ":" in target.host:  # an IPv6 literal
        host = f"[{target.host}]" + (f":{target.port}" if target.port else "")
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    request = client.build_request(
        "POST",
        pinned,
        content=content,
        headers={
            **headers,
            "Host": host,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        },
        extensions=extensions,
    )
    response = client.send(request, stream=True)
    try:
        body = bytearray()
        for chunk in response.iter_raw():
            body.extend(chunk)
            if len(body) >= MAX_BODY_BYTES or time.monotonic() > deadline:
                break
    finally:
        response.close()
    excerpt = bytes(body[:EXCERPT_CHARS]).decode("utf-8", "replace")
    return (
        response.status_code,
        response.headers.get("location", ""),
        excerpt,
        _retry_after(response.headers.get("retry-after")),
    )


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.ConnectError):
        return "Could not connect."
    if isinstance(error, httpx.RemoteProtocolError):
        return "The server closed the connection without a valid answer."
    return f"The request failed ({type(error).__name__})."
