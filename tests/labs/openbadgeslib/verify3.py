"""Verifies an Open Badges 3.0 baked badge with openbadgeslib, an independent implementation.

The issuer's Ed25519 key is read from the app's published JWKS and handed to openbadgeslib as
the trusted key; the status list is fetched from the app (loopback only). openbadgeslib binds
recipients by credentialSubject.id, so the hashed email identifier (OB 3.0 IdentityObject) is
checked here. Usage: verify3.py FILE JWKS-URL [RECIPIENT-EMAIL]; prints the outcome as JSON.
"""

import base64
import hashlib
import json
import sys
import urllib.request
from urllib.parse import urlparse

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from openbadgeslib.ob3 import OB3Verifier
from openbadgeslib.verify import verify_badge


def loopback_fetch(url):
    if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("refused offline: " + url)
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def issuer_pem(jwks_url):
    key = json.loads(loopback_fetch(jwks_url))["keys"][0]
    raw = base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4))
    public = Ed25519PublicKey.from_public_bytes(raw)
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def recipient_matches(token, email):
    payload = jwt.decode(token, options={"verify_signature": False})
    for identity in payload["credentialSubject"].get("identifier", []):
        digest = hashlib.sha256((email.lower() + identity.get("salt", "")).encode()).hexdigest()
        if identity.get("identityHash") == "sha256$" + digest:
            return True
    return False


def main():
    path, jwks_url = sys.argv[1], sys.argv[2]
    with open(path, "rb") as baked:
        data = baked.read()
    result = verify_badge(data, "3", pubkey_pem=issuer_pem(jwks_url), check_status=True,
                          verify_status_list=True, download=loopback_fetch)
    out = {"valid": result.valid, "trusted": result.trusted, "reason": result.reason}
    if result.valid and len(sys.argv) > 3:
        token = (OB3Verifier.extract_token_from_svg(data) if path.endswith(".svg")
                 else OB3Verifier.extract_token_from_png(data))
        out["recipient_matches"] = recipient_matches(token, sys.argv[3])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
