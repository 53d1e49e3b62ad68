//! The externalizable classes this server can read.
//!
//! An `IExternalizable` class writes its own payload format (AMF3 spec §3.12,
//! "U29O-traits-ext"): a reader that does not know the class cannot find where
//! the payload ends, so the rest of the message is unreadable. We know the Flex
//! collection classes, whose `writeExternal` writes exactly one AMF3 value:
//!
//! | alias | ActionScript class | payload |
//! |---|---|---|
//! | `flex.messaging.io.ArrayCollection` | `mx.collections.ArrayCollection` | its `source` array |
//! | `flex.messaging.io.ArrayList` | `mx.collections.ArrayList` | its `source` array |
//! | `flex.messaging.io.ObjectProxy` | `mx.utils.ObjectProxy` | the proxied object |
//!
//! The aliases are the ones Flex's `RPCClassAliasInitializer` registers; the bare
//! class names are accepted too, for applications that register the classes
//! under their own names. Any other class is
//! [`AmfError::UnknownExternalizable`](crate::protocol::amf::AmfError).

/// Class names whose externalized payload is exactly one AMF3 value.
pub const SINGLE_VALUE_CLASSES: &[&str] = &[
    "flex.messaging.io.ArrayCollection",
    "flex.messaging.io.ArrayList",
    "flex.messaging.io.ObjectProxy",
    "mx.collections.ArrayCollection",
    "mx.collections.ArrayList",
    "mx.utils.ObjectProxy",
];

/// Whether the payload of externalizable class `class` is one AMF3 value that
/// this server can read.
pub fn is_single_value_class(class: &str) -> bool {
    SINGLE_VALUE_CLASSES.contains(&class)
}
