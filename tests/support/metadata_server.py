"""Loopback stand-ins for the two AWS credential endpoints that cannot run off AWS, speaking
their real protocols:

  imds  EC2 instance metadata, IMDSv2 only: PUT /latest/api/token with
        X-aws-ec2-metadata-token-ttl-seconds returns a session token; every GET must carry it in
        X-aws-ec2-metadata-token (401 otherwise); /latest/meta-data/iam/security-credentials/
        names the role and .../<role> returns its credentials.
  ecs   ECS container credentials: GET on the path of AWS_CONTAINER_CREDENTIALS_FULL_URI with
        the Authorization header the container was given.
  eks   EKS Pod Identity (the same protocol as ecs): the Authorization header must be the
        current content of the file AUTH names, read again for every request, as the Pod
        Identity agent checks the token the kubelet rotates.
  hang  accepts connections and never answers (a metadata service that is not there).

Usage: metadata_server.py MODE LOGFILE [ACCESS_KEY SECRET TOKEN EXPIRATION [AUTH]]
(for eks, AUTH is the path of the token file)
Prints the port it listens on, then serves. Each answered request is logged as one JSON line.
"""
import json
import secrets
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode, log_path = sys.argv[1], sys.argv[2]
access_key, secret_key, session_token, expiration = (sys.argv[3:7] + [None] * 4)[:4]
auth = sys.argv[7] if len(sys.argv) > 7 else None
ROLE = "db-connect-role"
issued = set()
log_lock = threading.Lock()

if mode == "hang":
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    held = []
    while True:
        conn, _ = listener.accept()
        held.append(conn)


def credentials_document():
    return json.dumps({
        "Code": "Success",
        "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "Type": "AWS-HMAC",
        "AccessKeyId": access_key,
        "SecretAccessKey": secret_key,
        "Token": session_token,
        "Expiration": expiration,
        "RoleArn": "arn:aws:iam::123456789012:role/" + ROLE,
    })


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def record(self, status):
        with log_lock, open(log_path, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "status": status,
                                "headers": {k.lower(): v for k, v in self.headers.items()}}) + "\n")

    def reply(self, status, body=b"", content_type="text/plain", headers=()):
        self.record(status)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if mode == "imds" and self.path == "/latest/api/token":
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.reply(400)
            token = secrets.token_urlsafe(32)
            issued.add(token)
            # Like IMDS, echo the granted lifetime; the SDKs require it.
            return self.reply(200, token.encode(), headers=[("X-aws-ec2-metadata-token-ttl-seconds", ttl)])
        self.reply(404)

    def do_GET(self):
        if mode in ("ecs", "eks"):
            expected = auth
            if mode == "eks":
                with open(auth) as f:
                    expected = f.read().strip()
            if expected is not None and self.headers.get("Authorization") != expected:
                return self.reply(401)
            if self.path == "/creds":
                return self.reply(200, credentials_document().encode(), "application/json")
            return self.reply(404)
        # IMDSv2: no session token, no answer.
        if self.headers.get("X-aws-ec2-metadata-token") not in issued:
            return self.reply(401)
        if self.path == "/latest/meta-data/placement/region":
            return self.reply(200, b"eu-west-1")
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            return self.reply(200, ROLE.encode())
        if self.path == base + ROLE:
            return self.reply(200, credentials_document().encode(), "application/json")
        self.reply(404)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
