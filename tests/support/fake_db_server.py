#!/usr/bin/env python3
"""A database server that only listens: what a client sends it is logged, nothing is served.

    fake_db_server.py pg|mysql LOG

It prints the port it listens on (127.0.0.1) as its first line, then logs one JSON object a
line for every connection: {"event": "connect"}, and what the client offered on the way to a
login, {"event": "tls_request"} (it is always refused: the point is to see whether a client
that was told to verify TLS goes on without it), {"event": "startup", ...} and, if the client
goes that far, {"event": "password", "password": ...}. It speaks enough of each protocol to
make a client send its password in cleartext when the client is willing to:

- pg: SSLRequest and GSSENCRequest are answered 'N', the StartupMessage gets
  AuthenticationCleartextPassword, the PasswordMessage is logged and answered with an error.
- mysql: a protocol-10 handshake without CLIENT_SSL, then an AuthSwitchRequest to
  mysql_clear_password; the cleartext password is logged and answered with an error.

A test that points a client at this server with a token in hand fails if the log shows the
token: that is a token sent where it must not go.
"""

import json
import socket
import struct
import sys
import threading


def log(path, lock, record):
    with lock:
        with open(path, "a") as f:
            f.write(json.dumps(record) + "\n")


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def serve_pg(conn, record):
    while True:
        (length,) = struct.unpack("!I", read_exact(conn, 4))
        body = read_exact(conn, length - 4)
        (code,) = struct.unpack("!I", body[:4])
        if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
            record({"event": "tls_request" if code == 80877103 else "gss_request"})
            conn.sendall(b"N")
            continue
        fields = body[4:].split(b"\0")
        params = dict(zip(fields[0::2], fields[1::2]))
        record(
            {
                "event": "startup",
                "params": {k.decode(errors="replace"): v.decode(errors="replace") for k, v in params.items() if k},
            }
        )
        break
    conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
    kind = read_exact(conn, 1)
    (length,) = struct.unpack("!I", read_exact(conn, 4))
    body = read_exact(conn, length - 4)
    if kind == b"p":
        record({"event": "password", "password": body.rstrip(b"\0").decode(errors="replace")})
    error = b"SFATAL\0C28P01\0Mfake server: nothing is served here\0\0"
    conn.sendall(b"E" + struct.pack("!I", len(error) + 4) + error)


def mysql_packet(seq, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def read_mysql_packet(conn):
    header = read_exact(conn, 4)
    length = header[0] | header[1] << 8 | header[2] << 16
    return header[3], read_exact(conn, length)


def serve_mysql(conn, record):
    # CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB |
    # CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH |
    # CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA; no CLIENT_SSL (0x800).
    caps = 0x1 | 0x2 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x80000 | 0x200000
    salt = b"abcdefghijklmnopqrst"
    handshake = (
        b"\x0a"
        + b"8.0.36-fake\0"
        + struct.pack("<I", 1)
        + salt[:8]
        + b"\0"
        + struct.pack("<H", caps & 0xFFFF)
        + b"\x21"
        + struct.pack("<H", 2)
        + struct.pack("<H", caps >> 16)
        + bytes([21])
        + b"\0" * 10
        + salt[8:]
        + b"\0"
        + b"mysql_native_password\0"
    )
    conn.sendall(mysql_packet(0, handshake))
    seq, response = read_mysql_packet(conn)
    (client_caps,) = struct.unpack("<I", response[:4])
    if client_caps & 0x800:
        record({"event": "tls_request"})
        return
    user = response[32:].split(b"\0", 1)[0].decode(errors="replace")
    record({"event": "startup", "params": {"user": user}})
    conn.sendall(mysql_packet(seq + 1, b"\xfemysql_clear_password\0" + salt + b"\0"))
    seq, password = read_mysql_packet(conn)
    record({"event": "password", "password": password.rstrip(b"\0").decode(errors="replace")})
    error = b"\xff" + struct.pack("<H", 1045) + b"#28000fake server: nothing is served here"
    conn.sendall(mysql_packet(seq + 1, error))


def main():
    mode, path = sys.argv[1], sys.argv[2]
    serve = {"pg": serve_pg, "mysql": serve_mysql}[mode]
    lock = threading.Lock()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)

    def handle(conn):
        def record(r):
            log(path, lock, r)

        record({"event": "connect"})
        try:
            with conn:
                serve(conn, record)
        except (EOFError, OSError, struct.error):
            pass

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
