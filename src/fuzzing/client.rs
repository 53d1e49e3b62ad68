//! The client session after a real handshake with an in-process server and a
//! `connect` request, fed the fuzz input as the server's chunk stream. Every
//! server call is answered and every SharedObject message is applied to a
//! replica, so the client's outbound side and the replica rules run too.

use super::XorShift;
use crate::protocol::amf::AmfValue;
use crate::protocol::client::{
    ClientEvent, ClientSession, ClientSessionConfig, ConnectRequest, SharedObjectReplica,
};
use crate::protocol::session::{
    ConnectAccept, ObjectEncoding, ServerSession, SessionConfig, SessionEvent,
};
use crate::protocol::shared_object::{SharedObjectEvent, SharedObjectMessage};

/// A client session whose handshake is complete and whose `connect` is sent,
/// and the server session it shook hands with (its `connect` not yet read).
fn connected(amf3: bool) -> Option<(ClientSession, ServerSession)> {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut client = ClientSession::new(ClientSessionConfig::default(), 0, &mut rng);
    let mut server = ServerSession::new(SessionConfig::default());
    for c in client.take_outbound() {
        server.handle_input(&c, 0, &mut rng).ok()?;
    }
    for s in server.take_outbound() {
        client.handle_input(&s, 0, &mut rng).ok()?;
    }
    let mut request = ConnectRequest::new("app/room", "rtmp://fuzz/app/room");
    if amf3 {
        request.object_encoding = ObjectEncoding::Amf3;
    }
    client.connect(&request).ok()?;
    Some((client, server))
}

/// A realistic server stream for the `client` target (head byte included):
/// the connect `_result`, a SharedObject sync and a server → client call, as
/// the server session writes them.
pub fn client_seed(amf3: bool) -> Vec<u8> {
    let mut seed = vec![u8::from(amf3)];
    let Some((mut client, mut server)) = connected(amf3) else {
        return seed;
    };
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for c in client.take_outbound() {
        let Ok(events) = server.handle_input(&c, 0, &mut rng) else {
            return seed;
        };
        for event in events {
            if let SessionEvent::ConnectRequested { request, .. } = event {
                let _ = server.accept_connect(request, &ConnectAccept::default());
            }
        }
    }
    let mut sync = SharedObjectMessage::new("fuzz", 3, false);
    sync.events = vec![
        SharedObjectEvent::UseSuccess,
        SharedObjectEvent::Clear,
        SharedObjectEvent::Change(vec![("k".into(), AmfValue::Number(1.0))]),
    ];
    let _ = server.send_shared_object(&sync);
    let _ = server.invoke("hello", vec![AmfValue::string("there")]);
    for s in server.take_outbound() {
        seed.extend_from_slice(&s);
    }
    seed
}

/// Byte 0: bit 0 picks the object encoding, bits 1..8 the piece size the
/// rest is fed in (0 = all at once). The rest is the server's chunk stream.
pub fn client(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let Some((mut client, _)) = connected(head & 1 == 1) else {
        return;
    };
    let _ = client.take_outbound();
    let piece = match usize::from(head >> 1) {
        0 => rest.len().max(1),
        n => n,
    };
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let mut replica = SharedObjectReplica::new("fuzz", false);
    let mut now = 0u64;
    for chunk in rest.chunks(piece) {
        now += 10;
        let Ok(events) = client.handle_input(chunk, now, &mut rng) else {
            return;
        };
        for event in events {
            match event {
                ClientEvent::CallReceived {
                    transaction_id,
                    args,
                    ..
                } => {
                    let _ = client.reply_result(transaction_id, args);
                }
                ClientEvent::SharedObject(message) => {
                    let _ = replica.apply(&message);
                    let _ = client.send_shared_object(
                        &replica
                            .change_message(vec![("k".to_string(), AmfValue::Number(now as f64))]),
                    );
                }
                _ => {}
            }
        }
        let _ = client.take_outbound();
    }
}
