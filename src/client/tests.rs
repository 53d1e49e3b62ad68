//! The tokio client against a tiny in-process server built on the real
//! [`ServerSession`] (for what the `ferrocast` binary does not do yet:
//! server→client calls on request and SharedObjects). Tests through the
//! binary live in `tests/client.rs`.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::protocol::session::{ConnectAccept, ServerSession, SessionConfig, SessionEvent};
use crate::protocol::shared_object::{SharedObjectEvent, SharedObjectMessage};

const LIMIT: Duration = Duration::from_secs(5);

/// Serves one connection: accepts connect; `askMe(x)` makes the server call
/// `ask(x)` on the client and answer with the client's result; SharedObject
/// `Use` gets `[UseSuccess, Clear, Change(topic)]`, `RequestChange` gets
/// `Success`, `SendMessage` is echoed, a `Use` of `"secret"` gets a Status
/// error.
async fn serve_one(listener: TcpListener) {
    let (mut socket, _) = listener.accept().await.expect("accept");
    let mut session = ServerSession::new(SessionConfig::default());
    let mut rng = StdRng::seed_from_u64(3);
    let mut buf = vec![0u8; 16 * 1024];
    let mut pending_ask: Option<(f64, f64)> = None;
    let mut version = 1;
    loop {
        let n = match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut events = match session.handle_input(&buf[..n], 0, &mut rng) {
            Ok(events) => events,
            Err(_) => return,
        };
        while let Some(event) = (!events.is_empty()).then(|| events.remove(0)) {
            match event {
                SessionEvent::ConnectRequested { request, .. } => {
                    session
                        .accept_connect(request, &ConnectAccept::default())
                        .unwrap();
                    events.extend(session.handle_input(&[], 0, &mut rng).unwrap());
                }
                SessionEvent::CallReceived {
                    transaction_id,
                    name,
                    args,
                    ..
                } if &*name == "askMe" => {
                    let asked = session.invoke("ask", args).unwrap();
                    pending_ask = Some((transaction_id, asked));
                }
                SessionEvent::CallResult {
                    transaction_id,
                    ok,
                    values,
                    ..
                } => {
                    if let Some((original, asked)) = pending_ask.take() {
                        assert_eq!(asked, transaction_id);
                        if ok {
                            session.call_result(original, values).unwrap();
                        } else {
                            session.call_error(original, "", "client refused").unwrap();
                        }
                    }
                }
                SessionEvent::SharedObjectReceived { message, .. } => {
                    let mut reply = SharedObjectMessage::new(message.name.clone(), version, false);
                    let mut confirmed = Vec::new();
                    for event in message.events {
                        match event {
                            SharedObjectEvent::Use if &*message.name == "secret" => {
                                reply.events.push(SharedObjectEvent::Status {
                                    code: "SharedObject.NoReadAccess".into(),
                                    level: "error".into(),
                                });
                            }
                            SharedObjectEvent::Use => reply.events.extend([
                                SharedObjectEvent::UseSuccess,
                                SharedObjectEvent::Clear,
                                SharedObjectEvent::Change(vec![(
                                    "topic".into(),
                                    AmfValue::string("rust"),
                                )]),
                            ]),
                            SharedObjectEvent::RequestChange(pairs) => {
                                confirmed.extend(pairs.into_iter().map(|(slot, _)| slot));
                            }
                            SharedObjectEvent::SendMessage { method, args } => {
                                reply
                                    .events
                                    .push(SharedObjectEvent::SendMessage { method, args });
                            }
                            _ => {}
                        }
                    }
                    if !confirmed.is_empty() {
                        // One version per write message, one Success for it.
                        version += 1;
                        reply.version = version;
                        reply.events.push(SharedObjectEvent::Success(confirmed));
                    }
                    if !reply.events.is_empty() {
                        session.send_shared_object(&reply).unwrap();
                    }
                }
                _ => {}
            }
        }
        for segment in session.take_outbound() {
            if socket.write_all(&segment).await.is_err() {
                return;
            }
        }
    }
}

async fn connected(options: ConnectOptions) -> (Client, Events) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("rtmp://{}/chat/room", listener.local_addr().unwrap());
    tokio::spawn(serve_one(listener));
    Client::connect(&url, options).await.expect("connect")
}

#[tokio::test]
async fn server_to_client_calls_are_answered_through_the_event_stream() {
    for options in [ConnectOptions::default(), ConnectOptions::amf3()] {
        let (client, mut events) = connected(options).await;
        let answering = tokio::spawn(async move {
            while let Some(event) = events.next().await {
                if let Event::Call {
                    method,
                    args,
                    reply,
                } = event
                {
                    assert_eq!(method, "ask");
                    let mut values = args;
                    values.push(AmfValue::string("from the client"));
                    reply.result(values).await.unwrap();
                }
            }
        });
        let got = tokio::time::timeout(LIMIT, client.call("askMe", vec![AmfValue::Number(7.0)]))
            .await
            .expect("in time")
            .expect("answered");
        assert_eq!(
            got,
            vec![AmfValue::Number(7.0), AmfValue::string("from the client")]
        );
        client.close().await.unwrap();
        answering.await.unwrap();
    }
}

#[tokio::test]
async fn a_server_call_dropped_unanswered_is_answered_with_an_error() {
    let (client, mut events) = connected(ConnectOptions::default()).await;
    let dropping = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            drop(event);
        }
    });
    let error = tokio::time::timeout(LIMIT, client.call("askMe", vec![]))
        .await
        .expect("in time")
        .expect_err("the server relays the client's _error");
    assert!(matches!(error, ClientError::CallFailed { .. }), "{error:?}");
    client.close().await.unwrap();
    dropping.await.unwrap();
}

#[tokio::test]
async fn a_shared_object_syncs_writes_and_sends_through_the_replica() {
    for options in [ConnectOptions::default(), ConnectOptions::amf3()] {
        let (client, _events) = connected(options).await;
        let mut room = client.shared_object("room", false).await.expect("use");
        assert_eq!(room.get("topic"), Some(AmfValue::string("rust")));
        assert_eq!(room.version(), 1);
        assert_eq!(room.next_event().await, Some(SoEvent::Cleared));
        assert!(
            matches!(room.next_event().await, Some(SoEvent::Changed { slot, .. }) if slot == "topic")
        );
        assert_eq!(room.next_event().await, Some(SoEvent::Synced));

        room.set_many(vec![
            ("a".into(), AmfValue::Number(1.0)),
            ("b".into(), AmfValue::Boolean(true)),
        ])
        .await
        .unwrap();
        room.wait_until(
            |so| so.get("b").is_some() && so.pending_writes() == 0,
            LIMIT,
        )
        .await
        .expect("our writes are confirmed");
        assert_eq!(room.get("a"), Some(AmfValue::Number(1.0)));
        assert_eq!(room.version(), 2);
        assert_eq!(
            room.next_event().await,
            Some(SoEvent::Success {
                slots: vec!["a".into(), "b".into()]
            })
        );

        room.send("hello", vec![AmfValue::string("all")])
            .await
            .unwrap();
        assert_eq!(
            tokio::time::timeout(LIMIT, room.next_event())
                .await
                .unwrap(),
            Some(SoEvent::Message {
                method: "hello".into(),
                args: vec![AmfValue::string("all")],
            })
        );
        assert!(matches!(
            client.shared_object("room", true).await,
            Err(ClientError::SharedObjectInUse { .. })
        ));
        room.release().await.unwrap();
        let again = client
            .shared_object("room", false)
            .await
            .expect("use again");
        assert_eq!(again.slots().len(), 1);
        client.close().await.unwrap();
        let error = again
            .wait_until(|_| false, LIMIT)
            .await
            .expect_err("closed");
        assert!(matches!(error, ClientError::Closed), "{error:?}");
    }
}

#[tokio::test]
async fn a_refused_use_reports_the_status() {
    let (client, _events) = connected(ConnectOptions::default()).await;
    let error = client
        .shared_object("secret", false)
        .await
        .expect_err("refused");
    assert_eq!(error.code(), Some("SharedObject.NoReadAccess"));
}
