"""A TLS front for a private redis-server that checks IAM authentication tokens the way
ElastiCache and MemoryDB do, for iamdb's end-to-end tests.

Speaks RESP to its clients. Before a client is authenticated every command but AUTH and HELLO
is refused with -NOAUTH; `AUTH user token` and `HELLO protover AUTH user token [SETNAME name]`
log in when the token is:

- a presigned `Action=connect` request for one of the known caches (its name, not an
  endpoint, is the host), signed for that cache's service (elasticache or memorydb), with
  `ResourceType=ServerlessCache` exactly when the cache is serverless;
- for this user (`User`), for the expected region, valid for at most 900 s, not signed more
  than 5 minutes ahead and not expired;
- signed by one of the known test keys (with its session token, for session keys).

A client that logs in is handed to the backend: the front opens a plain connection to it,
sends the same command with the token replaced by the backend's password (so the backend
knows the client as the same user), relays the backend's answer and then pipes bytes both
ways. A refused token gets -WRONGPASS and the client may try again. Every verdict is logged
as one JSON line: {"user", "ok", "why", "command", "sni"}.

Written against the SigV4 specification with the standard library only, independently of
iamdb's signer.

Usage: resp_front.py CERT KEY BACKEND_PORT BACKEND_PASSWORD KEYS_JSON CACHES REGION LOG
  CERT, KEY  the server certificate and its key (PEM)
  KEYS_JSON  {"AKID": {"secret": "...", "session": null or "..."}}
  CACHES     service:name:serverless entries, comma-separated, e.g.
             elasticache:my-rg:0,elasticache:my-serverless:1,memorydb:my-cluster:0
Prints the port it listens on (127.0.0.1), then serves, one thread per connection.
"""
import datetime
import hashlib
import hmac
import json
import select
import socket
import ssl
import sys
import threading
import urllib.parse

cert, key, backend_port, backend_password, keys_path, caches_arg, region, log_path = sys.argv[1:9]
backend_port = int(backend_port)
caches = {}
for entry in caches_arg.split(","):
    service, name, serverless = entry.split(":")
    caches[name.lower()] = (service, serverless == "1")
log_lock = threading.Lock()

NOAUTH = b"-NOAUTH Authentication required.\r\n"
WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"


def log(user, ok, why, command, sni):
    line = json.dumps({"user": user, "ok": ok, "why": why, "command": command, "sni": sni}) + "\n"
    with log_lock, open(log_path, "a") as f:
        f.write(line)


class Refused(Exception):
    pass


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def enc(s):
    return urllib.parse.quote(s, safe="-_.~")


def check(token, user):
    """Returns if `token` lets `user` in; raises Refused with the reason otherwise."""
    name, sep, query = token.partition("/?")
    if not sep:
        raise Refused("not a presigned URL")
    if name.lower() not in caches:
        raise Refused(f"signed for {name}, not a known cache")
    cache_service, serverless = caches[name.lower()]
    pairs = [p.partition("=") for p in query.split("&")]
    params = {urllib.parse.unquote(k): urllib.parse.unquote(v) for k, _, v in pairs}
    try:
        akid, date, scope_region, service, terminator = params["X-Amz-Credential"].split("/")
        signed_at = datetime.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
        expires = int(params["X-Amz-Expires"])
        signature = params["X-Amz-Signature"]
    except (KeyError, ValueError):
        raise Refused("missing or malformed parameters")
    if service != cache_service:
        raise Refused(f"signed for service {service}, not {cache_service}")
    if serverless and params.get("ResourceType") != "ServerlessCache":
        raise Refused(f"{name} is serverless: needs ResourceType=ServerlessCache, not {params.get('ResourceType')!r}")
    if not serverless and "ResourceType" in params:
        raise Refused(f"{name} is not serverless: ResourceType={params['ResourceType']} is refused")
    if params.get("Action") != "connect":
        raise Refused("not a connect request")
    if params.get("User") != user:
        raise Refused(f"for user {params.get('User')!r}, not {user!r}")
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or params.get("X-Amz-SignedHeaders") != "host":
        raise Refused("unexpected algorithm or signed headers")
    if scope_region != region:
        raise Refused(f"region {scope_region}, not {region}")
    if terminator != "aws4_request":
        raise Refused("credential scope does not end in aws4_request")
    if date != params["X-Amz-Date"][:8]:
        raise Refused("credential date and X-Amz-Date differ")
    now = datetime.datetime.now(datetime.timezone.utc)
    if expires > 900:
        raise Refused("X-Amz-Expires above 900")
    if signed_at > now + datetime.timedelta(minutes=5):
        raise Refused("signed in the future")
    if now > signed_at + datetime.timedelta(seconds=expires):
        raise Refused("expired")
    keys = json.load(open(keys_path))
    if akid not in keys:
        raise Refused(f"unknown access key {akid}")
    if params.get("X-Amz-Security-Token") != keys[akid].get("session"):
        raise Refused("session token does not belong to the access key")

    # The canonical request: every parameter but the signature, sorted, re-encoded per SigV4;
    # the host is the cache's name.
    canonical_query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()) if k != "X-Amz-Signature")
    canonical_request = "\n".join(
        ["GET", "/", canonical_query, f"host:{name.lower()}", "", "host", hashlib.sha256(b"").hexdigest()])
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    k = sign(("AWS4" + keys[akid]["secret"]).encode(), date)
    for part in (region, service, "aws4_request"):
        k = sign(k, part)
    expected = hmac.new(k, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refused("bad signature")


class Closed(Exception):
    pass


class Reader:
    """Buffered reads from a socket; what is left over after logging in goes to the other side."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed()
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise Closed()
            self.fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def command(self):
        """One command: a RESP array of bulk strings, or an inline command."""
        while True:
            line = self.line()
            if not line.startswith(b"*"):
                args = line.split()
                if args:
                    return args
                continue
            args = []
            for _ in range(int(line[1:])):
                header = self.line()
                if not header.startswith(b"$"):
                    raise Closed()
                args.append(self.exactly(int(header[1:]) + 2)[:-2])
            if args:
                return args

    def reply(self):
        """One reply, RESP2 or RESP3, as the bytes it came in."""
        line = self.line()
        out = line + b"\r\n"
        kind, rest = line[:1], line[1:]
        if kind in (b"$", b"!", b"="):
            if int(rest) >= 0:
                out += self.exactly(int(rest) + 2)
        elif kind in (b"*", b"~", b">", b"%", b"|"):
            n = int(rest) * (2 if kind in (b"%", b"|") else 1)
            for _ in range(max(n, 0)):
                out += self.reply()
            if kind == b"|":
                # Attributes precede the reply they describe.
                out += self.reply()
        return out


def encode(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def login(args):
    """The user and the token position of an AUTH or HELLO command, or the error to answer."""
    name = args[0].upper()
    if name == b"AUTH":
        if len(args) == 2:
            return "default", 1
        if len(args) == 3:
            return args[1].decode(errors="replace"), 2
        return b"-ERR wrong number of arguments for 'auth' command\r\n"
    i = 2
    while i < len(args):
        if args[i].upper() == b"AUTH":
            if i + 2 >= len(args):
                return b"-ERR Syntax error in HELLO option 'AUTH'\r\n"
            return args[i + 1].decode(errors="replace"), i + 2
        i += 2 if args[i].upper() == b"SETNAME" else 1
    return NOAUTH


def pipe(client, client_rest, backend, backend_rest):
    if client_rest:
        backend.sendall(client_rest)
    if backend_rest:
        client.sendall(backend_rest)
    while True:
        ready = [client] if client.pending() else select.select([client, backend], [], [])[0]
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (backend if sock is client else client).sendall(data)


def serve(raw, context):
    client = backend = None
    try:
        client = context.wrap_socket(raw, server_side=True)
        sni = getattr(client, "sni", None)
        reader = Reader(client)
        while True:
            args = reader.command()
            if args[0].upper() not in (b"AUTH", b"HELLO"):
                client.sendall(NOAUTH)
                continue
            found = login(args)
            if isinstance(found, bytes):
                client.sendall(found)
                continue
            user, at = found
            command = args[0].upper().decode()
            try:
                check(args[at].decode(errors="replace"), user)
            except Refused as e:
                log(user, False, str(e), command, sni)
                client.sendall(WRONGPASS)
                continue
            backend = socket.create_connection(("127.0.0.1", backend_port))
            backend.sendall(encode(args[:at] + [backend_password.encode()] + args[at + 1:]))
            answers = Reader(backend)
            answer = answers.reply()
            client.sendall(answer)
            if answer.startswith(b"-"):
                log(user, False, "the backend refused: " + answer.decode(errors="replace").strip(), command, sni)
                backend.close()
                backend = None
                continue
            log(user, True, "ok", command, sni)
            pipe(client, reader.buf, backend, answers.buf)
            return
    except (Closed, OSError, ValueError):
        pass
    finally:
        for sock in (client, backend):
            if sock is not None:
                sock.close()
        raw.close()


def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def remember_sni(sock, server_name, _context):
        # The name the client asked for (TLS SNI), logged with each verdict.
        sock.sni = server_name

    context.sni_callback = remember_sni
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        raw, _ = listener.accept()
        threading.Thread(target=serve, args=(raw, context), daemon=True).start()


main()
