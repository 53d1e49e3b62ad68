//! A bot: joins the SharedObject `room` of `rtmp://HOST/chat/lobby`, sets its
//! slot, and says hello to everyone in the scope with the built-in
//! `broadcast`. The README's example is the part between the markers.
//!
//! ```sh
//! cargo run --release -- serve &                       # a node on 127.0.0.1:1935
//! cargo run --example bot -- rtmp://127.0.0.1/chat/lobby
//! ```

use std::time::Duration;

use ferrocast::client::{Client, ClientError, ConnectOptions};
use ferrocast::protocol::amf::AmfValue;

/// Runs the bot against `url` once; returns what `broadcast` answered (the
/// number of nodes reached).
#[rustfmt::skip] // the README shows these lines as they are
pub async fn run(url: &str) -> Result<AmfValue, ClientError> {
    // README:start
    let (client, _events) = Client::connect(url, ConnectOptions::default()).await?;
    let room = client.shared_object("room", false).await?;
    room.set("bot", AmfValue::string("online")).await?;
    room.wait_until(|so| so.get("bot").is_some(), Duration::from_secs(5)).await?;
    let hello = vec![AmfValue::string("say"), AmfValue::string("hello from a bot")];
    let nodes = client.call_one("broadcast", hello).await?;
    println!("room v{}: {:?}; broadcast reached {nodes:?} node(s)", room.version(), room.slots());
    // README:end
    client.close().await?;
    Ok(nodes)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "rtmp://127.0.0.1/chat/lobby".to_string());
    if let Err(e) = run(&url).await {
        eprintln!("bot: {e}");
        std::process::exit(1);
    }
}
