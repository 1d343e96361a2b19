//! Behind a reverse proxy (`serve --trusted-proxy`): the failed-auth throttle and the request
//! log attribute a request to the client the proxy forwarded for — only when the socket
//! peer is a trusted proxy. Over real sockets from 127.0.0.1.

use std::time::Duration;

use portolan_server::auth::AuthThrottle;
use portolan_server::listen::ConnLimits;
use portolan_server::proxy::TrustedProxies;

use super::{TestServer, logs, server_behind};

/// A bogus token (well-formed, unknown).
fn bogus() -> String {
    format!("ptk_{}_{}", "2".repeat(16), "e".repeat(64))
}

/// `GET /api/v1/projects` with a refused token and `headers`; the status.
fn refused(s: &TestServer, headers: &[(&str, &str)]) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut req = agent
        .get(&format!("{}/api/v1/projects", s.base))
        .header("Authorization", &format!("Bearer {}", bogus()));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.call().expect("answer").status().as_u16()
}

fn server(proxies: &[&str]) -> (TestServer, tempfile::TempDir) {
    server_behind(
        ConnLimits::default(),
        AuthThrottle::new(3, 6),
        TrustedProxies::parse(proxies).expect("ranges"),
    )
}

/// Regression (issue 12): the failed-auth throttle keyed on the socket peer, so behind a
/// reverse proxy every client shared the proxy's bucket. From a trusted proxy, two
/// forwarded clients are throttled separately (X-Forwarded-For and RFC 7239 `Forwarded`,
/// quoted IPv6 with a port), and the request log names the client.
#[test]
fn forwarded_clients_of_a_trusted_proxy_are_throttled_separately() {
    let (s, _dir) = server(&["127.0.0.0/8"]);
    let a = [("X-Forwarded-For", "203.0.113.9, 198.51.100.1")];
    for i in 0..3 {
        assert_eq!(refused(&s, &a), 401, "client A, attempt {i}");
    }
    assert_eq!(refused(&s, &a), 429, "client A is throttled");
    // the same client through RFC 7239: one bucket per client, whichever header says so
    assert_eq!(refused(&s, &[("Forwarded", "for=198.51.100.1")]), 429);
    // another client behind the same proxy is not
    let b = [("Forwarded", "for=\"[2001:db8::1]:4711\";proto=https")];
    for i in 0..3 {
        assert_eq!(refused(&s, &b), 401, "client B, attempt {i}");
    }
    assert_eq!(refused(&s, &b), 429, "client B is throttled");
    assert_eq!(
        refused(&s, &[("X-Forwarded-For", "198.51.100.3")]),
        401,
        "a third client still has its own bucket"
    );
    // malformed or unknown: the peer (the proxy) counts, not a fresh bucket per garbage
    for (i, bad) in ["not-an-ip", "198.51.100.4, [2001:db8::1", "unknown"]
        .iter()
        .enumerate()
    {
        assert_eq!(refused(&s, &[("X-Forwarded-For", bad)]), 401, "{bad}: {i}");
    }
    assert_eq!(refused(&s, &[("Forwarded", "for=unknown")]), 429);
    assert_eq!(refused(&s, &[]), 429, "the proxy's own bucket is spent");
    assert_eq!(refused(&s, &[("X-Forwarded-For", "198.51.100.5")]), 401);
    let text = String::from_utf8_lossy(
        &logs()
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
    .into_owned();
    for client in [
        "client=198.51.100.1",
        "client=2001:db8::1",
        "client=127.0.0.1",
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains("request") && l.contains(client)),
            "no request logged with {client}"
        );
    }
}

/// Regression (issue 12): forwarding headers from a peer that is not a trusted proxy are
/// spoofable and never believed — a client inventing a new `X-Forwarded-For` per attempt is
/// still throttled as its own address.
#[test]
fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let (s, _dir) = server(&["10.0.0.0/8", "fd00::/8"]);
    for i in 0..3 {
        let spoof = format!("198.51.100.{}", 10 + i);
        assert_eq!(refused(&s, &[("X-Forwarded-For", &spoof)]), 401, "{i}");
    }
    assert_eq!(
        refused(&s, &[("X-Forwarded-For", "198.51.100.99")]),
        429,
        "X-Forwarded-For"
    );
    assert_eq!(
        refused(&s, &[("Forwarded", "for=\"[2001:db8::99]\"")]),
        429,
        "Forwarded"
    );
}
