"""An STS endpoint that misbehaves, for iamdb's fault tests (tests/hardening.rs):

  hang        accepts connections, reads the request, never answers
  garbage     answers every request with 200 OK and a body that is not STS's XML
  mfa-denied  answers as STS does when the MFA code is wrong: 403, AccessDenied,
              "MultiFactorAuthentication failed with invalid MFA one time pass code."
  denied      answers as STS does when the caller may not assume the role: 403, AccessDenied

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


MESSAGES = {
    "mfa-denied": "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
    "denied": "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: "
    "sts:AssumeRole on resource: arn:aws:iam::123456789012:role/denied-role",
}


def error_xml(message):
    # The body STS sends with an error (Query protocol), as AWS sends it.
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n'
        "  <Error>\n    <Type>Sender</Type>\n    <Code>AccessDenied</Code>\n"
        f"    <Message>{message}</Message>\n  </Error>\n"
        "  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n</ErrorResponse>\n"
    ).encode()


def read_request(conn):
    # The whole request, body included: a socket closed with unread input is reset, and the
    # client would see that instead of the answer.
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return data


def serve(conn):
    conn.settimeout(30)
    try:
        read_request(conn)
        if mode in MESSAGES:
            body = error_xml(MESSAGES[mode])
            conn.sendall(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\n"
                b"x-amzn-RequestId: c6104cbe-af31-11e0-8154-cbc7ccf896c7\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            conn.close()
        elif mode == "garbage":
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
