"""HTTP delivery in front of the framework: prepared responses, validators, compression, CORS.

`Delivery` (api/http/delivery.py) is one ASGI app wrapping the Litestar app. It answers a
GET or HEAD it has seen in this content revision from bytes prepared once, before any
routing, and lets everything else through.
"""

from api.http.delivery import Delivery
from api.http.openapi import document_delivery

__all__ = ["Delivery", "document_delivery"]
