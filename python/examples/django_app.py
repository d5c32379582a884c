"""A one-file Django project whose Twilio webhooks are verified by the middleware: ``application`` for WSGI
servers, ``asgi_application`` for ASGI ones.

    TWILIO_AUTH_TOKEN=... PUBLIC_BASE_URL=https://abc123.ngrok.app python python/examples/django_app.py
    TWILIO_AUTH_TOKEN=... uvicorn --app-dir python/examples django_app:asgi_application

Routes as in ``flask_app.py``: ``POST /sms``, ``POST /events`` (JSON), ``GET /health`` (not protected).
Twilio's POSTs carry no CSRF token, so the webhook views are ``csrf_exempt``: the signature is what
authenticates them.
"""

import json
import os

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="example-only",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402

from twilio_webhook import asgi, wsgi  # noqa: E402


def verdict(request):
    """The verified request's verdict: in the ASGI scope, or in the WSGI environ (Django's META)."""
    scope = getattr(request, "scope", None)
    return scope[asgi.VERDICT_KEY] if scope is not None else request.META[wsgi.VERDICT_KEY]


@csrf_exempt
@require_POST
def sms(request):
    body = request.POST.get("Body", "")
    secret = verdict(request).secret
    twiml = f"<Response><Message>{len(body)} characters, signed with {secret}</Message></Response>"
    return HttpResponse(twiml, content_type="text/xml")


@csrf_exempt
@require_POST
def events(request):
    return JsonResponse({"events": len(json.loads(request.body))})


def health(request):
    return HttpResponse("ok")


urlpatterns = [path("sms", sms), path("events", events), path("health", health)]

protection = {
    "auth_token": os.environ.get("TWILIO_AUTH_TOKEN"),
    "public_url": os.environ.get("PUBLIC_BASE_URL"),
    "paths": ["/sms", "/events"],
}
application = wsgi.TwilioWebhookMiddleware(get_wsgi_application(), **protection)
asgi_application = asgi.TwilioWebhookMiddleware(get_asgi_application(), **protection)

if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    make_server("127.0.0.1", int(os.environ.get("PORT", "8000")), application).serve_forever()
