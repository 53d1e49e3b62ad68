//! The [`Server`] handle given to application hooks: the node's way to reach
//! clients (calls, broadcasts) and SharedObjects.

use std::sync::Arc;

/// A cheap, cloneable handle to the running node.
#[derive(Clone)]
pub struct Server {
    /// This node's id.
    pub(crate) node_id: Arc<str>,
}

impl Server {
    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }
}
