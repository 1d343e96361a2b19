//! The delivery client: one HTTP/1.1 POST per attempt, over plain TCP for `http://` URLs
//! and over TLS (rustls on ring, the provider the probes already use) for `https://` ones.
//!
//! A receiver's certificate is verified against Mozilla's root certificates (compiled in,
//! `webpki-roots`) plus, when `serve --webhook-ca FILE` names one, every certificate of a PEM
//! bundle — for receivers behind a private CA. A certificate that does not verify fails the
//! attempt like a refused connection, with rustls's reason in the delivery log
//! (`TLS handshake with 127.0.0.1: invalid peer certificate: UnknownIssuer`); it is retried
//! like any other failure, since a receiver may be mid-renewal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

/// Why a webhook URL is refused (the message of a 422 naming `url`).
pub fn check_url(url: &str) -> Result<hyper::Uri, String> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| format!("url: `{}` is not a URL: {e}", url.escape_default()))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(format!(
            "url: `{}` is not an http:// or https:// URL",
            url.escape_default()
        ));
    }
    match uri.authority() {
        Some(a) if !a.host().is_empty() && !a.as_str().contains('@') => Ok(uri),
        Some(_) => Err("url: a host, without user or password".into()),
        None => Err("url: names no host".into()),
    }
}

/// Why the CA bundle for webhook receivers cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebhookCaError {
    /// The file cannot be read.
    #[error("webhook CA bundle {}: {source}", path.display())]
    Read {
        /// The bundle.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A PEM block is malformed.
    #[error("webhook CA bundle {}: not PEM: {message}", path.display())]
    Pem {
        /// The bundle.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A certificate is not one a trust anchor can be made of.
    #[error("webhook CA bundle {}: certificate {index}: {message}", path.display())]
    Certificate {
        /// The bundle.
        path: PathBuf,
        /// Which certificate (1-based).
        index: usize,
        /// Why.
        message: String,
    },
    /// No `CERTIFICATE` block at all.
    #[error("webhook CA bundle {}: no certificate in it (PEM `-----BEGIN CERTIFICATE-----` blocks)", path.display())]
    Empty {
        /// The bundle.
        path: PathBuf,
    },
}

/// The TLS configuration of deliveries to `https://` receivers (cheap to clone).
#[derive(Clone)]
pub struct WebhookTls {
    config: Arc<rustls::ClientConfig>,
    /// Certificates added from a bundle.
    extra: usize,
}

impl std::fmt::Debug for WebhookTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTls")
            .field("extra_roots", &self.extra)
            .finish_non_exhaustive()
    }
}

impl Default for WebhookTls {
    /// Mozilla's roots only.
    fn default() -> Self {
        Self::with_roots(Vec::new())
    }
}

impl WebhookTls {
    /// Mozilla's roots plus every certificate of the PEM bundle at `path`.
    pub fn with_ca_bundle(path: &Path) -> Result<Self, WebhookCaError> {
        let text = std::fs::read(path).map_err(|source| WebhookCaError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let certs = CertificateDer::pem_slice_iter(&text)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| WebhookCaError::Pem {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(WebhookCaError::Empty {
                path: path.to_path_buf(),
            });
        }
        // each one must make a trust anchor: a bundle that silently trusts fewer CAs
        // than it lists would fail later, at a delivery, far from the cause
        let mut probe = rustls::RootCertStore::empty();
        for (i, cert) in certs.iter().enumerate() {
            probe
                .add(cert.clone())
                .map_err(|e| WebhookCaError::Certificate {
                    path: path.to_path_buf(),
                    index: i + 1,
                    message: e.to_string(),
                })?;
        }
        Ok(Self::with_roots(certs))
    }

    fn with_roots(extra: Vec<CertificateDer<'static>>) -> Self {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let count = extra.len();
        let (added, _ignored) = roots.add_parsable_certificates(extra);
        debug_assert_eq!(added, count, "checked by with_ca_bundle");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| unreachable!("ring supports the default TLS versions"))
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        WebhookTls {
            config: Arc::new(config),
            extra: count,
        }
    }
}

/// One POST of `body` to `url`: the receiver's status, or why there is none. Connect, TLS
/// handshake, send and the answer's head are all bounded by the caller's timeout (the
/// connection is dropped with this future).
pub(crate) async fn post(
    tls: &WebhookTls,
    url: &str,
    headers: &[(&str, String)],
    body: Bytes,
) -> Result<u16, String> {
    let uri = check_url(url)?;
    let authority = uri.authority().ok_or("url: names no host")?.clone();
    let https = uri.scheme_str() == Some("https");
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let addr = format!("{}:{port}", authority.host());
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let path = uri
        .path_and_query()
        .map_or("/", hyper::http::uri::PathAndQuery::as_str);
    if !https {
        return exchange(stream, authority.as_str(), path, headers, body).await;
    }
    // `[::1]` in a URL, `::1` as a name to verify
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let name = ServerName::try_from(host.clone())
        .map_err(|e| format!("TLS: `{host}` is not a server name: {e}"))?;
    let stream = tokio_rustls::TlsConnector::from(tls.config.clone())
        .connect(name, stream)
        .await
        .map_err(|e| format!("TLS handshake with {host}: {e}"))?;
    exchange(stream, authority.as_str(), path, headers, body).await
}

/// The HTTP/1.1 request and the answer's status line over an established connection.
async fn exchange<S>(
    io: S,
    authority: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Bytes,
) -> Result<u16, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
    let mut req = hyper::Request::post(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("portolan/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let req = req
        .body(Full::new(body))
        .map_err(|e| format!("request: {e}"))?;
    let response = sender.send_request(req);
    tokio::pin!(conn, response);
    let answer = tokio::select! {
        res = &mut response => res,
        end = &mut conn => match end {
            // the receiver closed after answering: the answer has been handed over by now
            Ok(()) => response.await,
            Err(e) => return Err(format!("HTTP: {e}")),
        },
    };
    answer
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("HTTP: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_with_a_host_are_accepted() {
        assert!(check_url("http://127.0.0.1:9000/hook?x=1").is_ok());
        assert!(check_url("https://example.com/").is_ok());
        assert!(check_url("https://[::1]:8443/hook").is_ok());
        assert!(check_url("ftp://example.com/").is_err());
        assert!(check_url("http://user:pw@example.com/").is_err());
        assert!(check_url("https://user@example.com/").is_err());
        assert!(check_url("not a url").is_err());
        assert!(check_url("/relative").is_err());
    }

    #[test]
    fn a_ca_bundle_must_hold_certificates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let e = WebhookTls::with_ca_bundle(&missing).expect_err("missing");
        assert!(e.to_string().contains("missing.pem"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no PEM here\n").expect("write");
        let e = WebhookTls::with_ca_bundle(&empty).expect_err("empty");
        assert!(e.to_string().contains("no certificate"), "{e}");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let e = WebhookTls::with_ca_bundle(&garbage).expect_err("garbage");
        assert!(e.to_string().contains("certificate 1"), "{e}");
    }
}
