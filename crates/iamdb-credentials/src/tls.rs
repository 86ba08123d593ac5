//! TLS for the two network steps iamdb takes on its own: `doctor`'s handshake with the database
//! server, verified the way the clients will verify it (the profile's CA file, the endpoint's
//! host name), and `ca update`'s download of the RDS CA bundle over HTTPS. Blocking rustls
//! (with aws-lc, as aws-config's HTTPS client uses) over a std TcpStream with short timeouts.
//! Only the `iamdb-credentials` helper links this module.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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
        Wire::Tls => {}
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
/// (`SSL_CERT_FILE`/`SSL_CERT_DIR` as OpenSSL reads them), at most `max` bytes, within
/// 30 s: hyper's HTTP/1.1 client over rustls, on a single-threaded runtime.
pub fn fetch(url: &str, max: usize) -> Result<Vec<u8>> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|_| Error::usage(format!("--url {url} is not a URL")))?;
    if uri.scheme_str() != Some("https") || uri.host().is_none() {
        return Err(Error::usage(format!(
            "--url {url}: only https:// URLs (the bundle is what every connection trusts)"
        )));
    }
    let native = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(native.certs);
    if roots.is_empty() {
        return Err(failed(
            "no system CA certificates to verify the download with (install ca-certificates, or set SSL_CERT_FILE)",
        ));
    }
    let config = Arc::unwrap_or_clone(client_config(roots)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        tokio::time::timeout(FETCH_DEADLINE, download(uri, config, max))
            .await
            .unwrap_or_else(|_| {
                Err(failed(format!(
                    "{url} did not finish within {} s",
                    FETCH_DEADLINE.as_secs()
                )))
            })
    })
}

async fn download(uri: hyper::Uri, config: ClientConfig, max: usize) -> Result<Vec<u8>> {
    use http_body_util::{BodyExt, Empty, Limited};
    let url = uri.to_string();
    let host = uri.host().unwrap_or_default().to_string();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<hyper::body::Bytes>>(connector);
    let request = hyper::Request::get(uri)
        .header(
            hyper::header::USER_AGENT,
            concat!("iamdb/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::new())
        .map_err(|e| Error::internal(e.to_string()))?;
    let response = client.request(request).await.map_err(|e| {
        // DNS, a refused connection and the like are said as such (not as TLS failures).
        use crate::network::{Cause, Endpoint, Failure, transport_cause};
        if let Some(cause) = transport_cause(&e).filter(|c| !matches!(c, Cause::Tls(_))) {
            let failure = Failure {
                endpoint: Endpoint::of_url(&url),
                cause,
            };
            return failed(format!("cannot download {url}: {}", failure.message()));
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                return failed(describe_tls_error(io, &host, "the system CA certificates"));
            }
            source = s.source();
        }
        failed(format!("cannot download {url}: {e}"))
    })?;
    if response.status() != hyper::StatusCode::OK {
        return Err(failed(format!(
            "{url}: the server answered {}",
            response.status()
        )));
    }
    let body = Limited::new(response.into_body(), max)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                failed(format!("{url} is larger than {max} bytes"))
            } else {
                failed(format!("{url}: {e}"))
            }
        })?;
    Ok(body.to_bytes().to_vec())
}
