"""A local fake of the few Square API endpoints Mux Minus uses, for the real SDK.

Runs a threaded HTTP server on 127.0.0.1 speaking Square's documented JSON shapes
(v2 Checkout, Orders and Payments APIs), replays the stored answer when an
idempotency key is reused, and can inject 5xx answers and slow answers
(timeouts). Helpers play the buyer and the merchant: `pay`, `refund`,
`dispute`, each returning the webhook events Square would send, and `sign`
computes Square's signature: base64(HMAC-SHA256(key, notification URL + body)).
"""

import base64
import copy
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MERCHANT_ID = "ML0FAKEMERCHANT"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:22].upper()


def _error(category: str, code: str, detail: str) -> dict[str, Any]:
    return {"errors": [{"category": category, "code": code, "detail": detail}]}


@dataclass
class Fault:
    status: int = 500
    delay: float = 0.0
    after: bool = False  # do the work, then answer with the fault
    path: str = ""  # only requests whose path starts with this


class FakeSquare:
    def __init__(
        self,
        *,
        token: str,
        location_id: str,
        webhook_key: str,
        webhook_url: str,
    ) -> None:
        self.token = token
        self.location_id = location_id
        self.webhook_key = webhook_key
        self.webhook_url = webhook_url
        self.lock = threading.Lock()
        self.links: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- lifecycle ---------------------------------------------------------
    def start(self) -> "FakeSquare":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- fault injection ---------------------------------------------------
    def fail_next(
        self, count: int = 1, *, status: int = 500, after: bool = False, path: str = ""
    ) -> None:
        """The next `count` matching requests answer `status` (after: once done)."""
        with self.lock:
            self.faults += [Fault(status=status, after=after, path=path)] * count

    def hang_next(self, seconds: float, *, path: str = "") -> None:
        """The next matching request answers only after `seconds` (a client timeout)."""
        with self.lock:
            self.faults.append(Fault(status=0, delay=seconds, path=path))

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for index, fault in enumerate(self.faults):
                if path.startswith(fault.path):
                    return self.faults.pop(index)
        return None

    def count(self, method: str, prefix: str) -> int:
        with self.lock:
            return sum(
                1 for m, p in self.requests if m == method and p.startswith(prefix)
            )

    # --- API ---------------------------------------------------------------
    def handle(
        self, method: str, path: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if method == "POST" and path == "/v2/online-checkout/payment-links":
            return self._payment_link_create(body)
        if method == "GET" and (match := re.fullmatch(r"/v2/orders/([^/]+)", path)):
            return self._get(self.orders, "order", match.group(1))
        if method == "GET" and (match := re.fullmatch(r"/v2/payments/([^/]+)", path)):
            return self._get(self.payments, "payment", match.group(1))
        return 404, _error("INVALID_REQUEST_ERROR", "NOT_FOUND", f"No {path}.")

    def _get(
        self, table: dict[str, dict[str, Any]], name: str, key: str
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            found = table.get(key)
            if found is None:
                return 404, _error(
                    "INVALID_REQUEST_ERROR",
                    "NOT_FOUND",
                    f"Could not find {name} {key}.",
                )
            return 200, {name: copy.deepcopy(found)}

    def _payment_link_create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        key = body.get("idempotency_key") or ""
        fingerprint = json.dumps(body, sort_keys=True)
        with self.lock:
            if key and key in self.idempotency:
                seen, status, answer = self.idempotency[key]
                if seen != fingerprint:
                    return 400, _error(
                        "INVALID_REQUEST_ERROR",
                        "IDEMPOTENCY_KEY_REUSED",
                        "The idempotency key was used with different parameters.",
                    )
                return status, copy.deepcopy(answer)
        order_in = body.get("order") or {}
        if order_in.get("location_id") != self.location_id:
            return 400, _error(
                "INVALID_REQUEST_ERROR", "NOT_FOUND", "Unknown location_id."
            )
        items = order_in.get("line_items") or []
        if not items:
            return 400, _error(
                "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER", "No line_items."
            )
        now = _now()
        currency = items[0]["base_price_money"]["currency"]
        total = 0
        line_items = []
        for item in items:
            price = item["base_price_money"]
            line_total = price["amount"] * int(item["quantity"])
            total += line_total
            line_items.append(
                {
                    "uid": _id(),
                    "name": item["name"],
                    "quantity": item["quantity"],
                    "item_type": "ITEM",
                    "base_price_money": price,
                    "gross_sales_money": {"amount": line_total, "currency": currency},
                    "total_money": {"amount": line_total, "currency": currency},
                }
            )
        order_id = _id()
        order = {
            "id": order_id,
            "location_id": self.location_id,
            "reference_id": order_in.get("reference_id"),
            "source": {"name": "Fake Square Online Checkout"},
            "line_items": line_items,
            "created_at": now,
            "updated_at": now,
            "state": "OPEN",
            "version": 1,
            "total_money": {"amount": total, "currency": currency},
            "total_tax_money": {"amount": 0, "currency": currency},
            "net_amount_due_money": {"amount": total, "currency": currency},
        }
        link_id = _id()
        link = {
            "id": link_id,
            "version": 1,
            "order_id": order_id,
            "checkout_options": body.get("checkout_options") or {},
            "url": f"{self.base_url}/checkout/{link_id}",
            "long_url": f"{self.base_url}/checkout/{link_id}?long=1",
            "created_at": now,
        }
        answer = {"payment_link": link, "related_resources": {"orders": [order]}}
        with self.lock:
            self.orders[order_id] = order
            self.links[link_id] = link
            if key:
                self.idempotency[key] = (fingerprint, 200, answer)
        return 200, copy.deepcopy(answer)

    # --- the buyer and the merchant ----------------------------------------
    def order_for_link(self, link_id: str) -> dict[str, Any]:
        return self.orders[self.links[link_id]["order_id"]]

    def pay(
        self,
        order_id: str,
        *,
        amount: int | None = None,
        currency: str | None = None,
    ) -> list[dict[str, Any]]:
        """The buyer pays the order; returns [payment.created, payment.updated]."""
        with self.lock:
            order = self.orders[order_id]
            money = {
                "amount": order["total_money"]["amount"] if amount is None else amount,
                "currency": currency or order["total_money"]["currency"],
            }
            now = _now()
            payment_id = _id("P")
            payment = {
                "id": payment_id,
                "created_at": now,
                "updated_at": now,
                "amount_money": money,
                "total_money": money,
                "approved_money": money,
                "status": "APPROVED",
                "delay_duration": "PT168H",
                "delay_action": "CANCEL",
                "source_type": "CARD",
                "card_details": {
                    "status": "AUTHORIZED",
                    "card": {"card_brand": "VISA", "last_4": "1111"},
                    "entry_method": "KEYED",
                },
                "location_id": self.location_id,
                "order_id": order_id,
                "risk_evaluation": {"risk_level": "NORMAL"},
                "receipt_number": payment_id[:4],
                "receipt_url": f"{self.base_url}/receipt/{payment_id}",
                "application_details": {"square_product": "ECOMMERCE_API"},
                "version_token": _id(),
            }
            self.payments[payment_id] = payment
            created = self.event("payment.created", "payment", payment)
            payment.update(status="COMPLETED", updated_at=_now())
            payment["card_details"]["status"] = "CAPTURED"
            order.update(state="COMPLETED", updated_at=_now(), closed_at=_now())
            order["version"] += 1
            order["tenders"] = [
                {
                    "id": payment_id,
                    "location_id": self.location_id,
                    "transaction_id": order_id,
                    "created_at": now,
                    "amount_money": money,
                    "type": "CARD",
                    "card_details": {"status": "CAPTURED", "entry_method": "KEYED"},
                    "payment_id": payment_id,
                }
            ]
            order["net_amount_due_money"] = {"amount": 0, "currency": money["currency"]}
            updated = self.event("payment.updated", "payment", payment)
        return [created, updated]

    def refund(
        self, payment_id: str, *, amount: int | None = None
    ) -> list[dict[str, Any]]:
        """The merchant refunds a payment; returns [refund.created, refund.updated]."""
        with self.lock:
            payment = self.payments[payment_id]
            money = dict(payment["amount_money"])
            if amount is not None:
                money["amount"] = amount
            refund_id = f"{payment_id}_{_id()}"
            refund = {
                "id": refund_id,
                "status": "PENDING",
                "amount_money": money,
                "payment_id": payment_id,
                "order_id": payment["order_id"],
                "location_id": self.location_id,
                "reason": "Requested by the buyer",
                "created_at": _now(),
                "updated_at": _now(),
            }
            self.refunds[refund_id] = refund
            created = self.event("refund.created", "refund", refund)
            refund.update(status="COMPLETED", updated_at=_now())
            refunded = (payment.get("refunded_money") or {}).get("amount", 0)
            payment["refunded_money"] = {**money, "amount": refunded + money["amount"]}
            payment["refund_ids"] = [*payment.get("refund_ids", []), refund_id]
            updated = self.event("refund.updated", "refund", refund)
        return [created, updated]

    def dispute(self, payment_id: str) -> dict[str, Any]:
        """The buyer's bank opens a dispute; returns the dispute.created event."""
        payment = self.payments[payment_id]
        dispute_id = _id("D")
        dispute = {
            "id": dispute_id,
            "dispute_id": dispute_id,
            "amount_money": payment["amount_money"],
            "reason": "NO_KNOWLEDGE",
            "state": "EVIDENCE_REQUIRED",
            "due_at": _now(),
            "disputed_payment": {"payment_id": payment_id},
            "card_brand": "VISA",
            "created_at": _now(),
            "updated_at": _now(),
            "location_id": self.location_id,
            "version": 1,
        }
        return self.event("dispute.created", "dispute", dispute)

    def event(
        self, event_type: str, name: str, thing: dict[str, Any]
    ) -> dict[str, Any]:
        """A webhook event as Square sends it, with a snapshot of `thing`."""
        return {
            "merchant_id": MERCHANT_ID,
            "type": event_type,
            "event_id": str(uuid.uuid4()),
            "created_at": _now(),
            "data": {
                "type": name,
                "id": thing["id"],
                "object": {name: copy.deepcopy(thing)},
            },
        }

    def sign(self, body: str, *, url: str | None = None, key: str | None = None) -> str:
        """Square's x-square-hmacsha256-signature for `body` sent to `url`."""
        digest = hmac.new(
            (key or self.webhook_key).encode(),
            ((url or self.webhook_url) + body).encode(),
            hashlib.sha256,
        ).digest()
        return base64.b64encode(digest).decode()


def _handler_for(fake: FakeSquare) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

        def _send(self, status: int, payload: dict[str, Any] | str) -> None:
            is_json = isinstance(payload, dict)
            data = (json.dumps(payload) if is_json else str(payload)).encode()
            self.send_response(status)
            self.send_header(
                "Content-Type", "application/json" if is_json else "text/html"
            )
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            path = self.path.split("?", 1)[0]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            with fake.lock:
                fake.requests.append((method, path))
            if method == "GET" and path.startswith("/checkout/"):
                self._send(200, "<h1>Fake Square checkout</h1>")
                return
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                self._send(
                    401,
                    _error("AUTHENTICATION_ERROR", "UNAUTHORIZED", "Bad access token."),
                )
                return
            fault = fake._take_fault(path)
            if fault and fault.delay:
                time.sleep(fault.delay)
            if fault and fault.status and not fault.after:
                self._send(
                    fault.status,
                    _error("API_ERROR", "INTERNAL_SERVER_ERROR", "Injected."),
                )
                return
            body = json.loads(raw) if raw else {}
            status, payload = fake.handle(method, path, body)
            if fault and fault.status and fault.after:
                status, payload = (
                    fault.status,
                    _error(
                        "API_ERROR", "INTERNAL_SERVER_ERROR", "Injected after the work."
                    ),
                )
            try:
                self._send(status, payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler
