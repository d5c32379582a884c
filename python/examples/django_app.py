"""A one-file Django project whose Twilio webhook views are verified by ``twilio_view`` (protection attached to
each view, settings in ``TWILIO_WEBHOOK``): ``application`` for WSGI servers, ``asgi_application`` for ASGI
ones.

    pip install django ./python
    TWILIO_AUTH_TOKEN=... TWILIO_PUBLIC_URL=https://abc123.ngrok.app python python/examples/django_app.py
    TWILIO_AUTH_TOKEN=... uvicorn --app-dir python/examples django_app:asgi_application

The example-server contract (``example_settings.py``): ``127.0.0.1:$PORT`` (default 3000), ``TWILIO_AUTH_TOKEN``
required, ``TWILIO_PUBLIC_URL`` and ``TWILIO_TRUSTED_PROXIES`` optional. ``POST /sms`` (form) answers TwiML,
``POST /events`` (JSON with ``bodySHA256``) the number of events, ``POST /nested/sms`` is ``/sms`` under an
``include``, ``GET /ws`` checks a WebSocket handshake (Django's views cannot upgrade it); ``GET /health`` is
not a webhook. Refusals: 400 without a signature, 413 over 1 MiB, 403 otherwise. Twilio's POSTs carry no
CSRF token, so ``twilio_view`` makes its views ``csrf_exempt``: the signature is what authenticates them.
"""

import json

import django
import example_settings
from django.conf import settings

protection = example_settings.protection()
settings.configure(
    DEBUG=False,
    SECRET_KEY="example-only",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
    # What twilio_view (and twilio_webhook.django.TwilioWebhookMiddleware) read.
    TWILIO_WEBHOOK=protection,
    # twilio_view bounds the body (1 MiB) before Django reads it; Django's own limit is lower.
    DATA_UPLOAD_MAX_MEMORY_SIZE=None,
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

from twilio_webhook.django import twilio_view  # noqa: E402


@twilio_view
@require_POST
def sms(request):
    count = sum(len(request.POST.getlist(key)) for key in request.POST)
    return HttpResponse(example_settings.twiml(count), content_type="text/xml")


@twilio_view
@require_POST
def events(request):
    return JsonResponse({"events": len(json.loads(request.body))})


@twilio_view
@require_GET
def websocket(request):
    return HttpResponse("WebSocket handshake verified\n")


def health(request):
    return HttpResponse("ok")


urlpatterns = [
    path("sms", sms),
    path("events", events),
    path("ws", websocket),
    path("health", health),
    path("nested/", include([path("sms", sms)])),
]

application = get_wsgi_application()
asgi_application = get_asgi_application()

if __name__ == "__main__":
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Handler(WSGIRequestHandler):
        def log_message(self, format, *args):  # the middleware logs refusals; no access log
            pass

    port = example_settings.port()
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    make_server("127.0.0.1", port, application, handler_class=Handler).serve_forever()
