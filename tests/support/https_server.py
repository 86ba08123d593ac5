"""A loopback HTTPS file server for `iamdb ca update` tests: serves DIR over TLS with the
given certificate and key, HTTP/1.0 with Content-Length as python's http.server answers.
Prints its port on the first line. Usage: https_server.py DIR CERT KEY"""
import functools
import http.server
import ssl
import sys

directory, cert, key = sys.argv[1:4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
