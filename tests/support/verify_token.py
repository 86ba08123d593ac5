"""Checks an IAM authentication token the way RDS, or Aurora DSQL, does, for iamdb's
end-to-end tests.

Run by the test servers' PAM service (pam_iamdb_verify.so) with the token on stdin and the
login user in PAM_USER. Exits 0 only if the token is signed by one of the known test keys (with
its session token, for session keys), not expired, for the expected region, and:

- RDS: a presigned rds-db `Action=connect` request for one of the host:port endpoints, for
  this user (DBUser), valid for at most 900 s;
- DSQL: a presigned dsql request for one of the bare-host endpoints (no port), valid for at most
  a week, with `Action=DbConnectAdmin` when the user is `admin`, else `Action=DbConnect` and the
  user among the roles granted to the key (its "dsql_roles", as `AWS IAM GRANT` maps roles to
  IAM principals).

Written against the SigV4 specification with the standard library only, independently of
iamdb's signer.

Usage: verify_token.py KEYS_JSON ENDPOINTS REGION LOG
  KEYS_JSON  {"AKID": {"secret": "...", "session": null or "...", "dsql_roles": [...]}}
  ENDPOINTS  host:port (RDS) or host (DSQL) entries, comma-separated, the token may be signed for
"""
import datetime
import hashlib
import hmac
import json
import os
import sys
import urllib.parse

keys_path, endpoints, region, log_path = sys.argv[1:5]


def done(ok, why):
    with open(log_path, "a") as f:
        f.write(json.dumps({"user": os.environ.get("PAM_USER"), "ok": ok, "why": why}) + "\n")
    sys.exit(0 if ok else 1)


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


token = sys.stdin.read().strip()
user = os.environ.get("PAM_USER", "")
host_port, sep, query = token.partition("/?")
if not sep:
    done(False, "not a presigned URL")
if host_port.lower() not in endpoints.lower().split(","):
    done(False, f"signed for {host_port}, not {endpoints}")
pairs = [p.partition("=") for p in query.split("&")]
params = {urllib.parse.unquote(k): urllib.parse.unquote(v) for k, _, v in pairs}
dsql = ":" not in host_port
service_name = "dsql" if dsql else "rds-db"
max_expires = 604800 if dsql else 900
if dsql:
    if "DBUser" in params:
        done(False, "a DSQL token names no user")
    wanted = "DbConnectAdmin" if user == "admin" else "DbConnect"
    if params.get("Action") != wanted:
        done(False, f"Action {params.get('Action')!r} does not log in as {user!r} (needs {wanted})")
else:
    if params.get("Action") != "connect":
        done(False, "not a connect request")
    if params.get("DBUser") != user:
        done(False, f"for user {params.get('DBUser')!r}, not {user!r}")
if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or params.get("X-Amz-SignedHeaders") != "host":
    done(False, "unexpected algorithm or signed headers")
try:
    akid, date, scope_region, service, terminator = params["X-Amz-Credential"].split("/")
    signed_at = datetime.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    expires = int(params["X-Amz-Expires"])
    signature = params["X-Amz-Signature"]
except (KeyError, ValueError):
    done(False, "missing or malformed parameters")
if scope_region != region or service != service_name or terminator != "aws4_request":
    done(False, f"scope {scope_region}/{service}, not {region}/{service_name}")
if date != params["X-Amz-Date"][:8]:
    done(False, "credential date and X-Amz-Date differ")
now = datetime.datetime.now(datetime.timezone.utc)
if expires > max_expires:
    done(False, f"X-Amz-Expires above {max_expires}")
if signed_at > now + datetime.timedelta(minutes=5):
    done(False, "signed in the future")
if now > signed_at + datetime.timedelta(seconds=expires):
    done(False, "expired")
keys = json.load(open(keys_path))
if akid not in keys:
    done(False, f"unknown access key {akid}")
if params.get("X-Amz-Security-Token") != keys[akid].get("session"):
    done(False, "session token does not belong to the access key")
if dsql and user != "admin" and user not in keys[akid].get("dsql_roles", []):
    done(False, f"role {user!r} was never granted to {akid}")

# The canonical request: every parameter but the signature, sorted, re-encoded per SigV4.
def enc(s):
    return urllib.parse.quote(s, safe="-_.~")

canonical_query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()) if k != "X-Amz-Signature")
if dsql:
    canonical_host = host_port.lower()
else:
    host, _, port = host_port.rpartition(":")
    canonical_host = host.lower() if port == "443" else f"{host.lower()}:{port}"
canonical_request = "\n".join(["GET", "/", canonical_query, f"host:{canonical_host}", "", "host", hashlib.sha256(b"").hexdigest()])
scope = f"{date}/{region}/{service_name}/aws4_request"
string_to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
k = sign(("AWS4" + keys[akid]["secret"]).encode(), date)
for part in (region, service_name, "aws4_request"):
    k = sign(k, part)
expected = hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()
if not hmac.compare_digest(expected, signature):
    done(False, "bad signature")
done(True, "ok")
