//! Shared support for integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod media;
pub mod mini_server;
pub mod node;
pub mod process;
pub mod raw_client;
pub mod redis;
