//! The examples users copy: the README's bot is the code of `examples/bot.rs`
//! (kept identical by a test here) and that code really runs against a node —
//! it joins the SharedObject, sets its slot, and another client in the scope
//! receives its broadcast.

mod common;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/bot.rs"]
mod bot;

use std::time::Duration;

use common::node::Node;
use ferrocast::client::{Client, ConnectOptions, Event};
use ferrocast::protocol::amf::AmfValue;

const LIMIT: Duration = Duration::from_secs(10);

/// The lines of `examples/bot.rs` between the README markers, de-indented.
fn bot_lines() -> Vec<String> {
    let source = include_str!("../examples/bot.rs");
    let start = source.find("// README:start").expect("start marker");
    let end = source.find("// README:end").expect("end marker");
    source[start..end]
        .lines()
        .skip(1)
        .map(|l| l.strip_prefix("    ").unwrap_or(l).to_string())
        .filter(|l| !l.trim().is_empty())
        .collect()
}

#[test]
fn the_readme_bot_is_the_code_of_examples_bot() {
    let readme = include_str!("../README.md");
    let lines = bot_lines();
    assert!(
        lines.len() <= 10,
        "the README bot should stay at most ten lines"
    );
    let block = lines.join("\n");
    assert!(
        readme.contains(&block),
        "README.md must contain the bot from examples/bot.rs verbatim:\n{block}"
    );
}

#[tokio::test]
async fn the_bot_joins_the_room_and_its_broadcast_reaches_the_scope() {
    let node = Node::start();
    let url = node.url("chat/lobby");
    let (_listener, mut events) = Client::connect(&url, ConnectOptions::amf3())
        .await
        .expect("listener connects");

    let nodes = bot::run(&url).await.expect("the bot runs");
    assert_eq!(nodes, AmfValue::Number(1.0), "one node reached");

    let said = tokio::time::timeout(LIMIT, async {
        loop {
            match events.next().await {
                Some(Event::Call { method, args, .. }) => return (method, args),
                Some(Event::Closed { error }) => panic!("listener closed: {error:?}"),
                Some(_) => {}
                None => panic!("listener events ended"),
            }
        }
    })
    .await
    .expect("the listener hears the broadcast");
    assert_eq!(said.0, "say");
    assert_eq!(said.1, vec![AmfValue::string("hello from a bot")]);
}
