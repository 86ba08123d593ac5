//! TLS for the two network steps iamdb takes on its own: `doctor`'s handshake with the database
//! server, verified the way the clients will verify it (the profile's CA file, the endpoint's
//! host name), and `ca update`'s download of the RDS CA bundle over HTTPS. Blocking rustls
//! (with aws-lc, as aws-config's HTTPS client uses) over a std TcpStream with short timeouts.
//! Only the `iamdb-credentials` helper links this module.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use iamdb_core::error::{Error, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole download, however the server trickles it.
const FETCH_DEADLINE: Duration = Duration::from_secs(30);

pub use iamdb_core::protocol::{Handshake, Wire};

fn failed(message: impl Into<String>) -> Error {
    Error::new(iamdb_core::error::Kind::Check, message)
}

/// The certificates of a PEM file, as a root store.
pub fn roots_from_pem(pem: &[u8], origin: &str) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert =
            cert.map_err(|e| failed(format!("{origin} is not a PEM certificate bundle: {e}")))?;
        count += 1;
        roots.add(cert).map_err(|e| {
            failed(format!(
                "certificate {count} of {origin} does not parse: {e}"
            ))
        })?;
    }
    if count == 0 {
        return Err(failed(format!("{origin} holds no PEM certificate")));
    }
    Ok(roots)
}

fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn connect(addr: &str, port: u16) -> Result<TcpStream> {
    let addrs: Vec<_> = (addr, port)
        .to_socket_addrs()
        .map_err(|e| failed(format!("cannot resolve {addr}: {e}")))?
        .collect();
    let mut last = None;
    for a in &addrs {
        match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
            Ok(s) => {
                s.set_read_timeout(Some(IO_TIMEOUT)).ok();
                s.set_write_timeout(Some(IO_TIMEOUT)).ok();
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(failed(match last {
        Some(e) => format!("cannot connect to {addr}:{port}: {e}"),
        None => format!("{addr} resolves to no address"),
    }))
}

fn describe_tls_error(e: &std::io::Error, host: &str, ca: &str) -> String {
    let inner = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .map(ToString::to_string)
        .unwrap_or_else(|| e.to_string());
    if inner.contains("UnknownIssuer") {
        format!("the server's certificate is not signed by a CA in {ca} ({inner})")
    } else if inner.contains("NotValidForName") || inner.contains("not valid for name") {
        format!("the server's certificate is not valid for {host} ({inner})")
    } else if inner.contains("Expired") {
        format!("the server's certificate has expired, or the clock is wrong ({inner})")
    } else {
        format!("TLS handshake failed: {inner}")
    }
}

/// Dials `connect:port`, asks the server for TLS the way `wire` says, and completes a
/// handshake that verifies the certificate for `host` against the CA file `ca`.
pub fn check(
    host: &str,
    connect_addr: &str,
    port: u16,
    wire: Wire,
    ca: &Path,
) -> Result<Handshake> {
    let ca_name = ca.display().to_string();
    let pem = std::fs::read(ca).map_err(|e| failed(format!("cannot read {ca_name}: {e}")))?;
    let config = client_config(roots_from_pem(&pem, &ca_name)?)?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| failed(format!("{host} is not a host name TLS can verify")))?;
    let mut sock = connect(connect_addr, port)?;
    match wire {
        Wire::Postgres => postgres_ssl_request(&mut sock)?,
        Wire::Mysql => mysql_ssl_request(&mut sock)?,
    }
    let conn = ClientConnection::new(config, name)
        .map_err(|e| Error::internal(format!("TLS setup: {e}")))?;
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| failed(describe_tls_error(&e, host, &ca_name)))?;
    }
    let version = tls
        .conn
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("TLS")
        .replace('_', ".")
        .replace("TLSv1.", "TLS 1.");
    let cipher = tls
        .conn
        .negotiated_cipher_suite()
        .and_then(|c| c.suite().as_str())
        .unwrap_or("")
        .to_string();
    tls.conn.send_close_notify();
    let _ = tls.conn.complete_io(&mut tls.sock);
    Ok(Handshake { version, cipher })
}

fn postgres_ssl_request(sock: &mut TcpStream) -> Result<()> {
    // Length 8, then the SSLRequest code 80877103.
    sock.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .map_err(|e| failed(format!("sending SSLRequest: {e}")))?;
    let mut answer = [0u8; 1];
    sock.read_exact(&mut answer)
        .map_err(|e| failed(format!("the server did not answer SSLRequest: {e}")))?;
    match answer[0] {
        b'S' => Ok(()),
        b'N' => Err(failed(
            "the server does not accept TLS connections (ssl = off)",
        )),
        other => Err(failed(format!(
            "the server answered SSLRequest with {:?}; is this a PostgreSQL server?",
            other as char
        ))),
    }
}

fn mysql_ssl_request(sock: &mut TcpStream) -> Result<()> {
    let mut header = [0u8; 4];
    sock.read_exact(&mut header)
        .map_err(|e| failed(format!("the server sent no MySQL greeting: {e}")))?;
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut greeting = vec![0u8; len.min(1 << 16)];
    sock.read_exact(&mut greeting)
        .map_err(|e| failed(format!("the MySQL greeting was cut short: {e}")))?;
    match greeting.first() {
        Some(10) => {}
        Some(0xff) => {
            let text = String::from_utf8_lossy(greeting.get(3..).unwrap_or_default());
            return Err(failed(format!(
                "the server refused the connection: {}",
                text.trim_start_matches('#')
            )));
        }
        _ => {
            return Err(failed(
                "the server's greeting is not MySQL's; is this a MySQL or MariaDB server?",
            ));
        }
    }
    // After the version string: thread id (4), salt (8), filler (1), capabilities (2).
    let version_end = greeting[1..].iter().position(|&b| b == 0).map(|p| p + 1);
    let caps_at = version_end.map(|v| v + 1 + 4 + 8 + 1);
    let caps = caps_at
        .and_then(|c| greeting.get(c..c + 2))
        .map(|b| u16::from_le_bytes([b[0], b[1]]));
    const CLIENT_SSL: u32 = 0x0800;
    match caps {
        Some(c) if u32::from(c) & CLIENT_SSL != 0 => {}
        Some(_) => return Err(failed("the server does not offer TLS (have_ssl is off)")),
        None => return Err(failed("the MySQL greeting is too short")),
    }
    let flags: u32 = 0x0001 | 0x0200 | CLIENT_SSL | 0x8000 | 0x0008_0000;
    let mut packet = vec![32, 0, 0, 1];
    packet.extend_from_slice(&flags.to_le_bytes());
    packet.extend_from_slice(&(16u32 << 20).to_le_bytes());
    packet.push(45); // utf8mb4
    packet.extend_from_slice(&[0u8; 23]);
    sock.write_all(&packet)
        .map_err(|e| failed(format!("sending the SSL request: {e}")))
}

/// The body of `url` (https only), verified against the system's CA certificates
/// (`SSL_CERT_FILE`/`SSL_CERT_DIR` as OpenSSL reads them), at most `max` bytes.
pub fn fetch(url: &str, max: usize) -> Result<Vec<u8>> {
    let rest = url.strip_prefix("https://").ok_or_else(|| {
        Error::usage(format!(
            "--url {url}: only https:// URLs (the bundle is what every connection trusts)"
        ))
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| Error::usage(format!("--url {url}: bad port {p:?}")))?,
        ),
        None => (authority, 443),
    };
    if host.is_empty() || path.contains(char::is_whitespace) {
        return Err(Error::usage(format!("--url {url} is not a URL")));
    }
    let native = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(native.certs);
    if roots.is_empty() {
        return Err(failed(
            "no system CA certificates to verify the download with (install ca-certificates, or set SSL_CERT_FILE)",
        ));
    }
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| Error::usage(format!("--url {url}: bad host {host:?}")))?;
    let deadline = Instant::now() + FETCH_DEADLINE;
    let sock = connect(host, port)?;
    let conn = ClientConnection::new(client_config(roots)?, name)
        .map_err(|e| Error::internal(format!("TLS setup: {e}")))?;
    let mut tls = StreamOwned::new(conn, sock);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: iamdb/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    tls.write_all(request.as_bytes())
        .map_err(|e| failed(describe_tls_error(&e, host, "the system CA certificates")))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let mut clean_close = false;
    loop {
        if Instant::now() > deadline {
            return Err(failed(format!(
                "{url} did not finish within {} s",
                FETCH_DEADLINE.as_secs()
            )));
        }
        match tls.read(&mut buf) {
            Ok(0) => {
                clean_close = true;
                break;
            }
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if raw.len() > max + 65536 {
                    return Err(failed(format!("{url} is larger than {max} bytes")));
                }
                if http_body(&raw, false).is_ok_and(|b| b.is_some()) {
                    break;
                }
            }
            // A server that closes without close_notify: fine when the length says it all.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => {
                return Err(failed(describe_tls_error(
                    &e,
                    host,
                    "the system CA certificates",
                )));
            }
        }
    }
    let body = http_body(&raw, clean_close)
        .map_err(|e| failed(format!("{url}: {e}")))?
        .ok_or_else(|| failed(format!("{url}: the answer was cut short")))?;
    if body.len() > max {
        return Err(failed(format!("{url} is larger than {max} bytes")));
    }
    Ok(body)
}

/// The body of a complete HTTP/1.1 response, `Ok(None)` while more is needed. A body with
/// neither Content-Length nor chunked coding ends at a clean close only.
pub fn http_body(raw: &[u8], closed: bool) -> std::result::Result<Option<Vec<u8>>, String> {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&raw[..end]);
    let body = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split(' ').nth(1).unwrap_or_default();
    if code != "200" {
        return Err(format!("the server answered {}", status.trim()));
    }
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return dechunk(body);
    }
    if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad Content-Length {len:?}"))?;
        return Ok((body.len() >= len).then(|| body[..len].to_vec()));
    }
    Ok(closed.then(|| body.to_vec()))
}

fn dechunk(mut body: &[u8]) -> std::result::Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = body.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&body[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        body = &body[eol + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if body.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::http_body;

    #[test]
    fn http_bodies() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(http_body(ok, false), Ok(Some(b"hello".to_vec())));
        assert_eq!(http_body(&ok[..ok.len() - 1], false), Ok(None));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n";
        assert_eq!(http_body(chunked, false), Ok(Some(b"hello".to_vec())));
        assert_eq!(http_body(&chunked[..40], false), Ok(None));
        let close = b"HTTP/1.1 200 OK\r\n\r\nhello";
        assert_eq!(http_body(close, false), Ok(None));
        assert_eq!(http_body(close, true), Ok(Some(b"hello".to_vec())));
        assert!(
            http_body(b"HTTP/1.1 404 Not Found\r\n\r\n", true)
                .unwrap_err()
                .contains("404 Not Found")
        );
    }
}
