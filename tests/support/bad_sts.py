"""An STS endpoint that misbehaves, for iamdb's fault tests (tests/hardening.rs):

  hang     accepts connections, reads the request, never answers
  garbage  answers every request with 200 OK and a body that is not STS's XML

Usage: bad_sts.py MODE. Prints the port it listens on, then serves until killed.
"""
import socket
import sys
import threading

mode = sys.argv[1]
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(128)
print(server.getsockname()[1], flush=True)
held = []


def serve(conn):
    conn.settimeout(30)
    try:
        conn.recv(65536)
        if mode == "garbage":
            body = b"<html><body>\x00\xff not STS at all</body>"
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            conn.close()
        else:
            held.append(conn)
    except OSError:
        pass


while True:
    c, _ = server.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
