//! `rtmp://host[:port]/app[/room…]` URLs.

use super::error::ClientError;

/// Default RTMP port.
pub const DEFAULT_RTMP_PORT: u16 = 1935;

/// The parts of an RTMP URL a client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpUrl {
    /// `host:port`, for the TCP connection.
    pub address: String,
    /// Everything after the host: the application and room path (`app` in
    /// `connect`).
    pub app: String,
    /// The URL as given, without a trailing `/` (`tcUrl`).
    pub tc_url: String,
}

impl RtmpUrl {
    /// Parses `rtmp://host[:port]/app[/room…]` (port 1935 by default).
    ///
    /// # Errors
    ///
    /// [`ClientError::InvalidUrl`] with the reason.
    pub fn parse(url: &str) -> Result<Self, ClientError> {
        let invalid = |reason| ClientError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("rtmp://")
            .ok_or_else(|| invalid("the scheme must be rtmp://"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            return Err(invalid("no host"));
        }
        let has_port = match authority.rsplit_once(':') {
            // `[::1]` alone has a colon inside the brackets.
            Some((host, port)) if !host.is_empty() && !port.contains(']') => {
                port.parse::<u16>().map_err(|_| invalid("bad port"))?;
                true
            }
            _ => false,
        };
        let address = if has_port {
            authority.to_owned()
        } else {
            format!("{authority}:{DEFAULT_RTMP_PORT}")
        };
        let app = path.trim_matches('/');
        if app.is_empty() {
            return Err(invalid("no application name"));
        }
        Ok(Self {
            address,
            app: app.to_owned(),
            tc_url: url.trim_end_matches('/').to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_with_port_and_rooms_keeps_the_whole_path_as_app() {
        let url = RtmpUrl::parse("rtmp://127.0.0.1:19350/chat/room1/").unwrap();
        assert_eq!(url.address, "127.0.0.1:19350");
        assert_eq!(url.app, "chat/room1");
        assert_eq!(url.tc_url, "rtmp://127.0.0.1:19350/chat/room1");
    }

    #[test]
    fn url_without_port_uses_1935() {
        let url = RtmpUrl::parse("rtmp://example.org/live").unwrap();
        assert_eq!(url.address, "example.org:1935");
        assert_eq!(url.app, "live");
    }

    #[test]
    fn urls_without_scheme_host_or_app_are_refused() {
        for bad in [
            "http://h/app",
            "rtmp:///app",
            "rtmp://host",
            "rtmp://host:x/app",
        ] {
            assert!(
                matches!(RtmpUrl::parse(bad), Err(ClientError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }
}
