//! `SessionConfig`: the settings every session of a server shares.

use std::time::Duration;

/// The settings every session of a server shares.
///
/// # Examples
///
/// ```
/// let c = asyncore_cli::smtpd::SessionConfig::default();
/// assert_eq!(c.max_size, 32 << 20);
/// assert_eq!(c.command_timeout.as_secs(), 300);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// The name in the greeting and in the `HELO`/`EHLO` replies (smtpd: the FQDN).
    pub hostname: String,
    /// The most message octets accepted (advertised as `SIZE`).
    pub max_size: usize,
    /// How long to wait for the next command (RFC 5321 §4.5.3.2.7: at least 5 minutes).
    pub command_timeout: Duration,
    /// How long to wait for the next block of message data (RFC 5321 §4.5.3.2.6: 3 minutes).
    pub data_timeout: Duration,
    /// STARTTLS, when the server has a certificate.
    pub tls: Option<super::StartTls>,
    /// Advertise `AUTH PLAIN LOGIN` and accept any credentials.
    pub auth_any: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            hostname: crate::smtpd::hostname(),
            max_size: 32 << 20,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
            tls: None,
            auth_any: false,
        }
    }
}
