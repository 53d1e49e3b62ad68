//! [`CallError`]: why a server → client call (`callClient`,
//! [`Server::call_client`](super::Server::call_client)) has no result.

/// Why a server → client call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No client with this id is connected (to this node; issue 5 extends the
    /// search to the cluster).
    #[error("no client {client_id:?} is connected")]
    NoSuchClient {
        /// The id asked for.
        client_id: String,
    },
    /// The client did not answer within `[calls] timeout_ms`.
    #[error("client {client_id:?} did not answer {method:?} within {timeout_ms} ms")]
    Timeout {
        /// The called client.
        client_id: String,
        /// The method called on it.
        method: String,
        /// How long it had.
        timeout_ms: u64,
    },
    /// The client answered `_error`, or the call could not be sent.
    #[error("{description}")]
    Failed {
        /// The client's `description` (or `code`), or why the call could not
        /// be made.
        description: String,
    },
    /// The client left before answering.
    #[error("client {client_id:?} disconnected before answering {method:?}")]
    Disconnected {
        /// The called client.
        client_id: String,
        /// The method called on it.
        method: String,
    },
    /// `[calls] max_pending_per_connection` calls already wait for this
    /// client's answers.
    #[error("client {client_id:?} already has {limit} calls awaiting an answer")]
    TooManyPending {
        /// The called client.
        client_id: String,
        /// The cap.
        limit: usize,
    },
    /// The operation needs other nodes and the cluster bus cannot reach
    /// them (Redis unreachable, or its queue full): never a silent drop.
    #[error("the cluster is unavailable, {reason}")]
    ClusterUnavailable {
        /// What was (not) done, and the bus's reason.
        reason: String,
    },
}
