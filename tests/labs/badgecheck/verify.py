"""The 1EdTech Open Badges 2.0 validator (badgecheck), run offline for the tests.

badgecheck fetches the Open Badges JSON-LD context from the internet: it is served from the
copy badgecheck bundles. Requests to loopback (the app under test) go through; anything else is
refused. Its response cache is off: it calls a method requests-cache no longer has.
Usage: verify.py URL-OR-FILE [RECIPIENT-EMAIL]; prints badgecheck's report as JSON.
"""

import json
import sys
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter

from openbadges import verify
from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_real_send = HTTPAdapter.send


def _context_response(request):
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(OPENBADGES_CONTEXT_V2_DICT).encode()
    response.headers["Content-Type"] = "application/ld+json"
    response.url = request.url
    response.request = request
    return response


def _offline_send(self, request, **kwargs):
    url = urlparse(request.url)
    if url.hostname == "w3id.org" and url.path.rstrip("/").startswith("/openbadges/v2"):
        return _context_response(request)
    if url.hostname in LOOPBACK:
        return _real_send(self, request, **kwargs)
    raise requests.exceptions.ConnectionError("refused offline: " + request.url)


HTTPAdapter.send = _offline_send


def main():
    target = sys.argv[1]
    recipient = {"email": sys.argv[2]} if len(sys.argv) > 2 else None
    if target.startswith("http://") or target.startswith("https://"):
        result = verify(target, recipient_profile=recipient, use_cache=False)
    else:
        with open(target, "rb") as baked:
            result = verify(baked, recipient_profile=recipient, use_cache=False)
    print(json.dumps({"report": result["report"], "graph": result.get("graph", [])}))


if __name__ == "__main__":
    main()
