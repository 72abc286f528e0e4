//! Webhook transport over HTTP(S) with reqwest.
//!
//! Destinations are checked twice: when an endpoint is configured, and when a delivery is sent,
//! after DNS resolution (a custom resolver drops internal addresses, so a name that later starts
//! resolving to 127.0.0.1 or 169.254.169.254 gets nothing). Redirects are not followed, so a
//! public endpoint cannot bounce a delivery inwards.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use idv_core::ports::WebhookTransport;
use idv_core::webhooks::{is_internal, DestinationError};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// How long a receiver may take to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves names, keeping only addresses webhooks may reach.
struct GuardedResolver {
    allow_internal: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_internal = self.allow_internal;
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_internal || !is_internal(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err("the destination resolves only to internal addresses".into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Sends webhooks over HTTP and HTTPS.
#[derive(Clone)]
pub struct HttpWebhookTransport {
    client: reqwest::Client,
    allow_internal: bool,
}

impl std::fmt::Debug for HttpWebhookTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpWebhookTransport")
            .field("allow_internal", &self.allow_internal)
            .finish()
    }
}

impl HttpWebhookTransport {
    /// `allow_internal` lets deliveries reach loopback and private networks (for receivers on
    /// the operator's own network, and tests); off by default.
    pub fn new(allow_internal: bool) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .user_agent(concat!("idv-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow_internal }))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Self {
            client,
            allow_internal,
        })
    }

    /// Parses and checks the parts of a URL that need no DNS: scheme, and literal addresses in
    /// any notation (the URL parser turns decimal, hex and short IPv4 forms into addresses).
    fn parse(&self, url: &str) -> Result<(Url, Option<IpAddr>), DestinationError> {
        let parsed = Url::parse(url).map_err(|_| DestinationError::Malformed)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(DestinationError::Scheme);
        }
        let literal = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(DestinationError::Malformed),
        };
        if let Some(ip) = literal.filter(|ip| !self.allow_internal && is_internal(*ip)) {
            return Err(DestinationError::Internal(ip));
        }
        Ok((parsed, literal))
    }
}

#[async_trait]
impl WebhookTransport for HttpWebhookTransport {
    async fn check_destination(&self, url: &str) -> Result<(), DestinationError> {
        let (parsed, literal) = self.parse(url)?;
        if literal.is_some() || self.allow_internal {
            return Ok(());
        }
        let host = parsed
            .host_str()
            .ok_or(DestinationError::Malformed)?
            .to_string();
        let port = parsed.port_or_known_default().unwrap_or(443);
        // A name that does not resolve now may later: only internal answers are refused.
        if let Ok(found) = tokio::net::lookup_host((host.as_str(), port)).await {
            if let Some(internal) = found.map(|a| a.ip()).find(|ip| is_internal(*ip)) {
                return Err(DestinationError::Internal(internal));
            }
        }
        Ok(())
    }

    async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        headers: Vec<(String, String)>,
    ) -> Result<u16, String> {
        self.parse(url).map_err(|e| e.to_string())?;
        let mut request = self.client.post(url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => Ok(response.status().as_u16()),
            Err(e) if e.is_timeout() => Err("timed out".to_string()),
            Err(e) if e.is_connect() => Err("could not connect".to_string()),
            Err(_) => Err("the request failed".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn refused(url: &str) -> DestinationError {
        let transport = HttpWebhookTransport::new(false).unwrap();
        transport.check_destination(url).await.expect_err(url)
    }

    #[tokio::test]
    async fn refuses_internal_destinations_in_every_notation() {
        for url in [
            "http://127.0.0.1/hook",
            "http://10.0.0.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://2130706433/hook",
            "http://0x7f000001/hook",
            "http://0177.0.0.1/hook",
            "http://127.1/hook",
            "http://localhost/hook",
        ] {
            assert!(
                matches!(refused(url).await, DestinationError::Internal(_)),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn refuses_other_schemes_and_garbage() {
        for url in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://x/",
            "javascript:alert(1)",
        ] {
            assert_eq!(refused(url).await, DestinationError::Scheme, "{url}");
        }
        assert_eq!(refused("not a url").await, DestinationError::Malformed);
    }

    #[tokio::test]
    async fn an_operator_may_allow_internal_destinations() {
        let transport = HttpWebhookTransport::new(true).unwrap();
        transport
            .check_destination("http://127.0.0.1:9/hook")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn sending_to_an_internal_address_is_refused_before_connecting() {
        let transport = HttpWebhookTransport::new(false).unwrap();
        let sent = transport
            .post("http://127.0.0.1:9/hook", b"{}".to_vec(), Vec::new())
            .await;
        assert!(sent.unwrap_err().contains("internal"));
    }
}
