//! Network failures of the AWS calls, each said in one line that names the endpoint and what
//! went wrong there (DNS, a refused or unreachable connection, no answer in time, TLS, an HTTP
//! error status), with a hint that fits the cause. The SDK's own error (a chain of
//! `DispatchFailure`, `ConnectorError`, hyper and io errors) goes to the `-v` log only.
//!
//! The SDK's errors do not say which endpoint failed, so every AWS client of the helper sends
//! its requests through [`http_client`], the SDK's default HTTPS client with one addition: it
//! notes the endpoint of the request in flight (one request at a time in this program), which
//! is the one that failed.

use std::error::Error as StdError;
use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Where a request went: the host, and the port when it is not the scheme's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: Option<u16>,
}

impl Endpoint {
    /// The endpoint of an absolute URL; None for anything else.
    pub fn of_url(url: &str) -> Option<Endpoint> {
        let uri: hyper::Uri = url.trim().parse().ok()?;
        let host = uri.host().filter(|h| !h.is_empty())?;
        let default = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
            Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
            _ => None,
        };
        Some(Endpoint {
            host: host.to_ascii_lowercase(),
            port: uri.port_u16().filter(|p| Some(*p) != default),
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// The last request sent, and whether an answer came back.
#[derive(Debug, Clone)]
struct Exchange {
    endpoint: Option<Endpoint>,
    /// `scheme://host:port`, for the log.
    origin: String,
    answered: bool,
}

static LAST: Mutex<Option<Exchange>> = Mutex::new(None);

fn note(exchange: Exchange) {
    if let Ok(mut slot) = LAST.lock() {
        *slot = Some(exchange);
    }
}

fn last() -> Option<Exchange> {
    LAST.lock().ok().and_then(|slot| slot.clone())
}

/// The endpoint of a request still waiting for its answer, if one is.
pub fn pending() -> Option<Endpoint> {
    let exchange = last().filter(|e| !e.answered)?;
    tracing::debug!(endpoint = %exchange.origin, "the request sent there had no answer");
    exchange.endpoint
}

/// The SDK's default HTTPS client, noting where each request goes; None when this build of
/// the SDK has no default client (the SDK then reports that itself).
pub fn http_client() -> Option<SharedHttpClient> {
    static CLIENT: OnceLock<Option<SharedHttpClient>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let plugin = aws_smithy_runtime::client::defaults::default_http_client_plugin_v2(
                BehaviorVersion::latest(),
            )?;
            let inner = plugin
                .runtime_components(&RuntimeComponentsBuilder::new("iamdb"))
                .http_client()?;
            Some(SharedHttpClient::new(Noting(inner)))
        })
        .clone()
}

#[derive(Debug)]
struct Noting(SharedHttpClient);

impl HttpClient for Noting {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(NotingConnector(self.0.http_connector(settings, components)))
    }

    fn validate_base_client_config(
        &self,
        components: &RuntimeComponentsBuilder,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_base_client_config(components, cfg)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct NotingConnector(SharedHttpConnector);

impl HttpConnector for NotingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let origin = request
            .uri()
            .parse::<hyper::Uri>()
            .ok()
            .map(|u| {
                // Host and port only: a `user:password@` in an endpoint URL never reaches a log.
                let authority = u.authority().map(|a| a.as_str()).unwrap_or_default();
                format!(
                    "{}://{}",
                    u.scheme_str().unwrap_or("?"),
                    authority.rsplit('@').next().unwrap_or_default()
                )
            })
            .unwrap_or_default();
        note(Exchange {
            endpoint: Endpoint::of_url(request.uri()),
            origin,
            answered: false,
        });
        let call = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let result = call.await;
            if let Ok(mut slot) = LAST.lock()
                && let Some(exchange) = slot.as_mut()
            {
                exchange.answered = true;
            }
            result
        })
    }
}

/// What went wrong on the way to the endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    /// The host name does not resolve.
    Dns,
    /// Nothing listens on the port.
    Refused,
    /// No route to the host or network (the reason, as the OS says it).
    Unreachable(String),
    /// The connection ended before an answer.
    Closed,
    /// No answer in time (how long, when known).
    Timeout(Option<Duration>),
    /// The TLS handshake failed (why, in a few words).
    Tls(String),
    /// An HTTP error status that is no AWS API error (with the AWS error code, if any).
    Status(u16, Option<String>),
    /// Another transport failure (the innermost error's words).
    Other(String),
}

/// A network failure: where, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub endpoint: Option<Endpoint>,
    pub cause: Cause,
}

impl Failure {
    fn at(&self) -> String {
        self.endpoint
            .as_ref()
            .map_or_else(|| "the AWS endpoint".to_string(), ToString::to_string)
    }

    /// One line: what happened, and where.
    pub fn message(&self) -> String {
        let at = self.at();
        match &self.cause {
            Cause::Dns => format!(
                "cannot resolve {} (DNS)",
                self.endpoint
                    .as_ref()
                    .map_or("the AWS endpoint", |e| e.host.as_str())
            ),
            Cause::Refused => format!("connection refused by {at}"),
            Cause::Unreachable(why) => format!("cannot reach {at} ({why})"),
            Cause::Closed => format!("{at} closed the connection without answering"),
            Cause::Timeout(Some(d)) => format!("no answer from {at} within {} s", seconds(*d)),
            Cause::Timeout(None) => format!("no answer from {at} (timed out)"),
            Cause::Tls(why) => format!("TLS handshake with {at} failed: {why}"),
            Cause::Status(status, Some(code)) => format!("{at} answered HTTP {status} ({code})"),
            Cause::Status(status, None) => format!("{at} answered HTTP {status}"),
            Cause::Other(why) => format!("the connection to {at} failed: {why}"),
        }
    }

    /// What to check, for this cause.
    pub fn hint(&self) -> String {
        let set_by = self.endpoint.as_ref().and_then(configured_by);
        let endpoint = match &set_by {
            Some(var) => format!("{var} (which names this endpoint)"),
            None => "AWS_ENDPOINT_URL_* or the profile's endpoint_url, if one is set".to_string(),
        };
        match &self.cause {
            Cause::Dns => format!(
                "check the network connection, VPN and DNS, and {endpoint}; this is not about the credentials"
            ),
            Cause::Refused => {
                format!("nothing listens there: check {endpoint}, or a proxy or firewall")
            }
            Cause::Unreachable(_) => {
                format!("check the network connection, VPN and firewall, and {endpoint}")
            }
            Cause::Closed => format!(
                "check that the endpoint is an AWS API ({endpoint}), and any proxy (HTTPS_PROXY) or firewall on the way"
            ),
            Cause::Timeout(_) => format!(
                "check the network connection, VPN, proxy (HTTPS_PROXY) and firewall, and {endpoint}"
            ),
            Cause::Tls(_) => format!(
                "check the endpoint's scheme (https:// to a plain-HTTP server?) and {endpoint}, and the system's CA certificates (SSL_CERT_FILE)"
            ),
            Cause::Status(status, _) if *status >= 500 => format!(
                "the service or a proxy on the way is failing; try again later, or check {endpoint}"
            ),
            Cause::Status(..) => {
                format!("it does not answer as the AWS API does: check {endpoint}")
            }
            Cause::Other(_) => {
                format!("check the network connection, VPN, proxy and firewall, and {endpoint}")
            }
        }
    }
}

/// `3`, `3.1`, `0.5`: seconds to a tenth.
fn seconds(d: Duration) -> String {
    let tenths = (d.as_millis() + 50) / 100;
    if tenths.is_multiple_of(10) {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// The environment variable (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, ...) whose URL is
/// `endpoint`, if one is.
fn configured_by(endpoint: &Endpoint) -> Option<String> {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k == "AWS_ENDPOINT_URL" || k.starts_with("AWS_ENDPOINT_URL_"))
        .collect();
    // The service's own variable before the general one.
    vars.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    vars.into_iter()
        .find(|(_, v)| Endpoint::of_url(v).as_ref() == Some(endpoint))
        .map(|(k, _)| k)
}

/// Every error of a chain, from `e` on. After an `io::Error` comes its payload (its
/// `source()` skips it).
fn chain<'a>(
    e: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(e), |&e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => e.source(),
    })
}

/// The network failure behind an SDK call's error, if that is what it is: a failure to send
/// the request or to get an answer in time, or an HTTP error status without an AWS error
/// code (or any 5xx). The whole error goes to the `-v` log.
pub fn from_sdk<E>(e: &SdkError<E, HttpResponse>) -> Option<Failure>
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let failure = match e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => transport(e)?,
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
            let status = e.raw_response()?.status().as_u16();
            let code = e.code().filter(|c| !c.is_empty());
            if (200..400).contains(&status) || (status < 500 && code.is_some()) {
                return None;
            }
            Failure {
                endpoint: last().and_then(|x| x.endpoint),
                cause: Cause::Status(status, code.map(String::from)),
            }
        }
        _ => return None,
    };
    tracing::debug!(error = %DisplayErrorContext(e), "network failure, in full");
    Some(failure)
}

/// The network failure somewhere in `e`'s chain (a credential provider's error, which holds
/// the SDK's), if there is one.
pub fn diagnose(e: &(dyn StdError + 'static)) -> Option<Failure> {
    use aws_sdk_sts::operation::{
        assume_role::AssumeRoleError, assume_role_with_web_identity::AssumeRoleWithWebIdentityError,
    };
    for link in chain(e) {
        if let Some(sdk) = link.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
            return from_sdk(sdk);
        }
        if let Some(sdk) =
            link.downcast_ref::<SdkError<AssumeRoleWithWebIdentityError, HttpResponse>>()
        {
            return from_sdk(sdk);
        }
    }
    let failure = transport(e)?;
    tracing::debug!(error = %DisplayErrorContext(e), "network failure, in full");
    Some(failure)
}

/// A failure to send a request or to get its answer in time, from the error chain.
fn transport(e: &(dyn StdError + 'static)) -> Option<Failure> {
    let links: Vec<&(dyn StdError + 'static)> = chain(e).collect();
    let connector = links
        .iter()
        .find_map(|l| l.downcast_ref::<ConnectorError>());
    let timed_out = links
        .iter()
        .find_map(|l| timeout_after(&l.to_string()))
        .map(Some)
        .or_else(|| connector.filter(|c| c.is_timeout()).map(|_| None));
    if connector.is_none() && timed_out.is_none() {
        return None;
    }
    let cause = match cause_of(&links) {
        Some(cause) => cause,
        None => match timed_out {
            Some(after) => Cause::Timeout(after),
            None => Cause::Other(
                links
                    .last()
                    .map(ToString::to_string)
                    .unwrap_or_default()
                    .replace('\n', " "),
            ),
        },
    };
    Some(Failure {
        endpoint: last().and_then(|x| x.endpoint),
        cause,
    })
}

/// The cause a transport error (anywhere in `e`'s chain) shows, if it shows one.
pub fn transport_cause(e: &(dyn StdError + 'static)) -> Option<Cause> {
    cause_of(&chain(e).collect::<Vec<_>>())
}

/// The cause a transport error chain shows: TLS, DNS, or what the socket said.
fn cause_of(links: &[&(dyn StdError + 'static)]) -> Option<Cause> {
    if let Some(tls) = links.iter().find_map(|l| l.downcast_ref::<rustls::Error>()) {
        return Some(Cause::Tls(tls_reason(tls)));
    }
    let dns = links.iter().any(|l| {
        l.is::<aws_smithy_runtime_api::client::dns::ResolveDnsError>() || {
            let text = l.to_string();
            text == "dns error" || text.starts_with("failed to lookup address information")
        }
    });
    if dns {
        return Some(Cause::Dns);
    }
    for link in links {
        if let Some(io) = link.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            match io.kind() {
                K::ConnectionRefused => return Some(Cause::Refused),
                K::HostUnreachable => return Some(Cause::Unreachable("no route to host".into())),
                K::NetworkUnreachable | K::NetworkDown => {
                    return Some(Cause::Unreachable("network unreachable".into()));
                }
                K::AddrNotAvailable => {
                    return Some(Cause::Unreachable("address not available".into()));
                }
                K::TimedOut => return Some(Cause::Timeout(None)),
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    return Some(Cause::Closed);
                }
                _ if io.to_string().contains("Network unreachable") => {
                    return Some(Cause::Unreachable("network unreachable".into()));
                }
                _ => {}
            }
        }
        if let Some(h) = link.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_closed())
        {
            return Some(Cause::Closed);
        }
    }
    None
}

/// The duration in the SDK's "... timeout occurred after 3.1s".
fn timeout_after(text: &str) -> Option<Duration> {
    let after = text.split_once("occurred after ")?.1.trim();
    let (number, scale) = if let Some(n) = after.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = after.strip_suffix("µs") {
        (n, 1e-6)
    } else if let Some(n) = after.strip_suffix("ns") {
        (n, 1e-9)
    } else {
        (after.strip_suffix('s')?, 1.0)
    };
    number
        .parse::<f64>()
        .ok()
        .and_then(|v| Duration::try_from_secs_f64(v * scale).ok())
}

/// Why a handshake failed, in a few words.
fn tls_reason(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "its certificate is not signed by a CA this system trusts".into()
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "its certificate is not valid for that name".into(),
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "its certificate has expired (or this machine's clock is wrong)".into()
        }
        rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            "its certificate is not valid yet (or this machine's clock is wrong)".into()
        }
        rustls::Error::InvalidMessage(_) => "the answer is not TLS".into(),
        rustls::Error::AlertReceived(alert) => format!("the server sent the alert {alert:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_name_the_port_only_when_it_is_not_the_default() {
        let e = |u: &str| Endpoint::of_url(u).map(|e| e.to_string());
        assert_eq!(
            e("https://sts.eu-west-1.amazonaws.com/").as_deref(),
            Some("sts.eu-west-1.amazonaws.com")
        );
        assert_eq!(e("http://127.0.0.1:9").as_deref(), Some("127.0.0.1:9"));
        assert_eq!(e("http://Example.COM:80/x").as_deref(), Some("example.com"));
        assert_eq!(e("https://h:80").as_deref(), Some("h:80"));
        assert_eq!(e("not a url"), None);
    }

    #[test]
    fn timeouts_read_the_sdks_durations() {
        assert_eq!(
            timeout_after("operation attempt timeout (single attempt) occurred after 10s"),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            timeout_after("connect timeout occurred after 3.1s"),
            Some(Duration::from_millis(3100))
        );
        assert_eq!(
            timeout_after("read timeout occurred after 500ms"),
            Some(Duration::from_millis(500))
        );
        assert_eq!(timeout_after("timeout"), None);
        assert_eq!(seconds(Duration::from_millis(3100)), "3.1");
        assert_eq!(seconds(Duration::from_secs(2)), "2");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5");
    }

    #[test]
    fn io_kinds_and_dns_become_causes() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(cause_of(&[&refused]), Some(Cause::Refused));
        let dns = std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        );
        assert_eq!(cause_of(&[&dns]), Some(Cause::Dns));
        let tls = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let links: Vec<_> = chain(&tls).collect();
        assert!(matches!(cause_of(&links), Some(Cause::Tls(r)) if r.contains("not signed")));
    }

    #[test]
    fn messages_are_one_line_naming_the_endpoint() {
        let at = Some(Endpoint {
            host: "127.0.0.1".into(),
            port: Some(9),
        });
        for cause in [
            Cause::Dns,
            Cause::Refused,
            Cause::Unreachable("no route to host".into()),
            Cause::Closed,
            Cause::Timeout(Some(Duration::from_secs(2))),
            Cause::Tls("the answer is not TLS".into()),
            Cause::Status(503, None),
            Cause::Other("x".into()),
        ] {
            let f = Failure {
                endpoint: at.clone(),
                cause,
            };
            assert!(f.message().contains("127.0.0.1"), "{}", f.message());
            assert!(!f.message().contains('\n') && !f.hint().contains('\n'));
        }
        let dns = Failure {
            endpoint: Endpoint::of_url("http://sts.nowhere.invalid"),
            cause: Cause::Dns,
        };
        assert_eq!(dns.message(), "cannot resolve sts.nowhere.invalid (DNS)");
        assert!(!dns.hint().contains("aws sts get-caller-identity"));
    }
}
