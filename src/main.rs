//! The `ferrocast` binary.
fn main() {}
