//! [`Applications`]: which [`Application`] serves which application name
//! (the first segment of `rtmp://host/APP[/ROOM...]`), and the
//! [`DefaultApplication`] that serves the rest.
//!
//! Resolution: a name registered with [`Applications::with`] gets that
//! application; any other name gets the default application, if there is one
//! and the name passes the default's allow-list (`[rtmp] applications`, see
//! [`Applications::from_settings`]; empty = every name); else the connect is
//! refused with `NetConnection.Connect.Rejected`.

use std::collections::HashMap;
use std::sync::Arc;

use super::Application;
use crate::settings::Settings;

/// The application of DESIGN.md §3: accepts every connect, publish, play
/// and SharedObject access, handles no call itself, so every call goes to the
/// built-in methods (`echo`, `getServerTime`, `broadcast`, `getClientId`,
/// `callClient`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultApplication;

impl Application for DefaultApplication {}

/// The applications a node serves, by name.
///
/// ```
/// use ferrocast::app::{Application, Applications, DefaultApplication};
///
/// struct Chat;
/// impl Application for Chat {}
///
/// let apps = Applications::new()
///     .with("chat", Chat)
///     .with_default(DefaultApplication);
/// assert!(apps.resolve("chat").is_some());
/// assert!(apps.resolve("live").is_some()); // the default
/// assert!(Applications::new().with("chat", Chat).resolve("live").is_none());
/// ```
#[derive(Clone, Default)]
pub struct Applications {
    named: HashMap<String, Arc<dyn Application>>,
    default: Option<Arc<dyn Application>>,
    /// Names the default application serves; empty = every name.
    default_names: Vec<String>,
}

impl std::fmt::Debug for Applications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut named: Vec<&String> = self.named.keys().collect();
        named.sort();
        f.debug_struct("Applications")
            .field("named", &named)
            .field("default", &self.default.is_some())
            .field("default_names", &self.default_names)
            .finish()
    }
}

impl Applications {
    /// No application at all: every connect is refused until some are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// What `ferrocast serve` runs: the [`DefaultApplication`] for every
    /// name, or only for the names in `[rtmp] applications` when that list is
    /// not empty.
    pub fn from_settings(settings: &Settings) -> Self {
        Self::new()
            .with_default(DefaultApplication)
            .default_only_for(settings.rtmp.applications.iter().cloned())
    }

    /// Serves application `name` with `app` (replacing any earlier one).
    #[must_use]
    pub fn with(self, name: impl Into<String>, app: impl Application) -> Self {
        self.with_shared(name, Arc::new(app))
    }

    /// As [`with`](Self::with), for an application shared with other names
    /// or held elsewhere.
    #[must_use]
    pub fn with_shared(mut self, name: impl Into<String>, app: Arc<dyn Application>) -> Self {
        self.named.insert(name.into(), app);
        self
    }

    /// Serves every name not registered with [`with`](Self::with) with `app`.
    #[must_use]
    pub fn with_default(mut self, app: impl Application) -> Self {
        self.default = Some(Arc::new(app));
        self
    }

    /// Restricts the default application to these names (an empty list
    /// lifts the restriction). Names registered with [`with`](Self::with)
    /// are always served.
    #[must_use]
    pub fn default_only_for<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.default_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// The application serving `name`, if any.
    pub fn resolve(&self, name: &str) -> Option<Arc<dyn Application>> {
        if let Some(app) = self.named.get(name) {
            return Some(app.clone());
        }
        let default = self.default.as_ref()?;
        (self.default_names.is_empty() || self.default_names.iter().any(|n| n == name))
            .then(|| default.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{ready, AppFuture, ClientInfo, Decision, Server};

    struct Refuser;
    impl Application for Refuser {
        fn on_connect(&self, _: &ClientInfo, _: &Server) -> AppFuture<Decision> {
            ready(Decision::reject("no"))
        }
    }

    #[test]
    fn a_named_application_wins_over_the_default_and_over_the_allow_list() {
        let apps = Applications::new()
            .with("chat", Refuser)
            .with_default(DefaultApplication)
            .default_only_for(["live"]);
        assert!(apps.resolve("chat").is_some());
        assert!(apps.resolve("live").is_some());
        assert!(apps.resolve("vod").is_none());
    }

    #[test]
    fn from_settings_serves_every_name_when_the_list_is_empty_and_only_listed_ones_otherwise() {
        let mut settings = Settings::default();
        assert!(Applications::from_settings(&settings)
            .resolve("anything")
            .is_some());
        settings.rtmp.applications = vec!["live".into()];
        let apps = Applications::from_settings(&settings);
        assert!(apps.resolve("live").is_some());
        assert!(apps.resolve("other").is_none());
    }

    #[test]
    fn without_a_default_only_named_applications_are_served() {
        let apps = Applications::new().with("chat", DefaultApplication);
        assert!(apps.resolve("chat").is_some());
        assert!(apps.resolve("").is_none());
    }
}
