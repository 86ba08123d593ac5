"""A loopback stand-in for the ElastiCache API calls moto's server does not answer, speaking
the real protocol (AWS Query over HTTP POST, XML answers as in the API reference):

  DescribeServerlessCaches  the serverless caches named in CACHES_JSON; an unknown
                            ServerlessCacheName gets ServerlessCacheNotFoundFault (404)

Usage: elasticache_stub.py CACHES_JSON LOG
  CACHES_JSON  {"name": {"arn": ..., "engine": ..., "user_group": ..., "status": ...}}
Prints the port it listens on, then serves. Each request is logged as one JSON line with its
form parameters.
"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

caches = json.load(open(sys.argv[1]))
log_path = sys.argv[2]
NS = "http://elasticache.amazonaws.com/doc/2015-02-02/"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("x-amzn-RequestId", "5d5a5c1c-0000-4000-8000-000000000000")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
        with open(log_path, "a") as f:
            f.write(json.dumps({"params": form, "authorization": bool(self.headers.get("Authorization"))}) + "\n")
        if form.get("Action") != "DescribeServerlessCaches":
            return self.reply(400, error("InvalidAction", f"{form.get('Action')} is not served here"))
        name = form.get("ServerlessCacheName")
        if name is not None and name not in caches:
            return self.reply(404, error("ServerlessCacheNotFoundFault", f"Serverless cache {name} not found."))
        members = "".join(member(n, c) for n, c in caches.items() if name in (None, n))
        self.reply(200,
            f'<DescribeServerlessCachesResponse xmlns="{NS}">'
            f"<DescribeServerlessCachesResult><ServerlessCaches>{members}</ServerlessCaches>"
            "</DescribeServerlessCachesResult>"
            "<ResponseMetadata><RequestId>5d5a5c1c-0000-4000-8000-000000000000</RequestId></ResponseMetadata>"
            "</DescribeServerlessCachesResponse>")


def member(name, c):
    return ("<member>"
            f"<ServerlessCacheName>{escape(name)}</ServerlessCacheName>"
            f"<Status>{escape(c.get('status', 'available'))}</Status>"
            f"<Engine>{escape(c['engine'])}</Engine>"
            f"<MajorEngineVersion>8</MajorEngineVersion>"
            f"<ARN>{escape(c['arn'])}</ARN>"
            f"<UserGroupId>{escape(c['user_group'])}</UserGroupId>"
            "</member>")


def error(code, message):
    return (f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error>"
            "<RequestId>5d5a5c1c-0000-4000-8000-000000000000</RequestId></ErrorResponse>")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
