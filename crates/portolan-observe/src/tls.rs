//! TLS probes: a real handshake (rustls on ring) that accepts any certificate — the point
//! is to *observe* it — and reports protocol, cipher suite, and the leaf certificate's
//! subject, issuer, SANs and days until expiry.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde::Serialize;

/// What a TLS handshake showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: String,
    /// Negotiated cipher suite.
    pub cipher: String,
    /// Leaf certificate subject (`CN=localhost`).
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Subject alternative names (`DNS:localhost`, `IP:127.0.0.1`).
    pub sans: Vec<String>,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// Whole days from now until expiry (negative: expired).
    pub days_left: i64,
    /// Issuer equals subject.
    pub self_signed: bool,
}

/// Days below which a certificate is reported as expiring.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// Accepts every certificate (but still checks the handshake signatures): we observe, we do
/// not trust.
#[derive(Debug)]
struct Observe(Arc<CryptoProvider>);

impl ServerCertVerifier for Observe {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn config() -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Observe(provider)))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// The leaf certificate's facts (version and cipher are filled in by the caller).
fn describe(der: &[u8], now: i64) -> Result<TlsInfo, String> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| format!("bad certificate: {e}"))?;
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    let mut sans = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            match n {
                x509_parser::extensions::GeneralName::DNSName(d) => sans.push(format!("DNS:{d}")),
                x509_parser::extensions::GeneralName::IPAddress(ip) => {
                    let s = match ip.len() {
                        4 => <[u8; 4]>::try_from(*ip)
                            .map(|b| std::net::IpAddr::from(b).to_string())
                            .unwrap_or_default(),
                        16 => <[u8; 16]>::try_from(*ip)
                            .map(|b| std::net::IpAddr::from(b).to_string())
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    sans.push(format!("IP:{s}"));
                }
                other => sans.push(other.to_string()),
            }
        }
    }
    let not_after = cert.validity().not_after;
    let secs = not_after.timestamp();
    let days_left = (secs - now).div_euclid(86_400);
    let rfc = not_after.to_rfc2822().unwrap_or_else(|_| secs.to_string());
    Ok(TlsInfo {
        version: String::new(),
        cipher: String::new(),
        self_signed: subject == issuer,
        subject,
        issuer,
        sans,
        not_after: rfc,
        days_left,
    })
}

/// Handshakes with `addr` (SNI `server_name`), optionally sends an HTTP GET of `path` over
/// the TLS stream; returns what it saw and the HTTP status.
pub fn probe(
    addr: SocketAddr,
    server_name: &str,
    timeout: Duration,
    http_path: Option<&str>,
) -> Result<(TlsInfo, Option<u16>), String> {
    let cfg = config()?;
    let name = ServerName::try_from(server_name.to_string()).map_err(|e| e.to_string())?;
    let mut conn = rustls::ClientConnection::new(cfg, name).map_err(|e| e.to_string())?;
    let mut sock = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    sock.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("the server sent no certificate")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut info = describe(leaf.as_ref(), now)?;
    info.version = conn.protocol_version().map_or_else(
        || "?".into(),
        |v| v.as_str().unwrap_or("?").replace("TLSv1_", "TLSv1."),
    );
    info.cipher = conn.negotiated_cipher_suite().map_or_else(
        || "?".into(),
        |c| c.suite().as_str().unwrap_or("?").to_string(),
    );
    let mut status = None;
    if let Some(path) = http_path {
        let mut tls = rustls::Stream::new(&mut conn, &mut sock);
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\nUser-Agent: portolan-probe\r\n\r\n"
        );
        if tls.write_all(req.as_bytes()).is_ok() {
            let mut buf = [0u8; 64];
            if let Ok(n) = tls.read(&mut buf) {
                status = std::str::from_utf8(buf.get(..n).unwrap_or_default())
                    .ok()
                    .and_then(|h| {
                        h.strip_prefix("HTTP/")?
                            .split_whitespace()
                            .nth(1)?
                            .parse()
                            .ok()
                    });
            }
        }
    }
    Ok((info, status))
}
