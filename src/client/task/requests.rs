//! Carrying out what the handles ask.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Driver, Reply, Request, SoEntry, StreamWaiter, Waiter, SWEEP_ABOVE};
use crate::client::error::ClientError;
use crate::client::shared_object::SoShared;
use crate::protocol::client::{SoEvent, TransactionId};
use crate::protocol::command::status::{LEVEL_ERROR, NS_PLAY_START, NS_PUBLISH_START};
use crate::protocol::command::StatusInfo;

impl Driver {
    pub(super) fn on_request(&mut self, request: Request) {
        match request {
            Request::Call {
                method,
                args,
                reply,
            } => match self.session.call(&method, args) {
                Ok(id) => self.wait(id, Waiter::Call { method, reply }),
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Request::Notify {
                method,
                args,
                reply,
            } => {
                let _ = reply.send(self.session.notify(&method, args).map_err(Into::into));
            }
            Request::CreateStream { reply } => match self.session.create_stream() {
                Ok(id) => self.wait(id, Waiter::CreateStream(reply)),
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Request::Publish {
                stream_id,
                name,
                reply,
            } => match self.session.publish(stream_id, &name, "live") {
                Ok(()) => self.wait_stream(stream_id, NS_PUBLISH_START, reply),
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Request::Play {
                stream_id,
                name,
                reply,
            } => match self.session.play(stream_id, &name) {
                Ok(()) => self.wait_stream(stream_id, NS_PLAY_START, reply),
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Request::CloseStream { stream_id, reply } => {
                self.streams.remove(&stream_id);
                let _ = reply.send(self.session.close_stream(stream_id).map_err(Into::into));
            }
            Request::DeleteStream { stream_id, reply } => {
                self.streams.remove(&stream_id);
                let _ = reply.send(self.session.delete_stream(stream_id).map_err(Into::into));
            }
            Request::Media {
                stream_id,
                kind,
                timestamp,
                payload,
            } => {
                if let Err(error) = self
                    .session
                    .send_media(stream_id, kind, timestamp, &payload)
                {
                    tracing::debug!(%error, stream_id, "media not sent");
                }
            }
            Request::Data {
                stream_id,
                values,
                metadata,
                reply,
            } => {
                let sent = if metadata {
                    self.session.send_metadata(stream_id, &values)
                } else {
                    self.session.send_data(stream_id, 0, &values)
                };
                let _ = reply.send(sent.map_err(Into::into));
            }
            Request::Reply {
                transaction_id,
                result,
            } => {
                let sent = match result {
                    Ok(values) => self.session.reply_result(transaction_id, values),
                    Err(description) => self.session.reply_error(transaction_id, "", &description),
                };
                if let Err(error) = sent {
                    tracing::debug!(%error, transaction_id, "call answer not sent");
                }
            }
            Request::SoUse {
                shared,
                events,
                reply,
            } => self.so_use(shared, events, reply),
            Request::SoWrite { name, op, reply } => {
                let Some(entry) = self.sos.get(&name) else {
                    let _ = reply.send(Err(ClientError::Closed));
                    return;
                };
                let message = entry.shared.write_message(op);
                let _ = reply.send(
                    self.session
                        .send_shared_object(&message)
                        .map_err(Into::into),
                );
            }
            Request::SoRelease { name } => {
                if let Some(entry) = self.sos.remove(&name) {
                    entry.shared.close();
                    let message = entry.shared.release_message();
                    let _ = self.session.send_shared_object(&message);
                }
            }
            // Handled by the serve loop.
            Request::Close { reply } => drop(reply.send(())),
        }
    }

    fn so_use(&mut self, shared: Arc<SoShared>, events: mpsc::Sender<SoEvent>, reply: Reply<()>) {
        let name = shared.name().to_owned();
        if self.sos.contains_key(&name) {
            let _ = reply.send(Err(ClientError::SharedObjectInUse { name }));
            return;
        }
        let message = shared.use_message();
        if let Err(e) = self.session.send_shared_object(&message) {
            let _ = reply.send(Err(e.into()));
            return;
        }
        self.sos.insert(
            name,
            SoEntry {
                shared,
                events,
                use_reply: Some(reply),
            },
        );
    }

    fn wait(&mut self, id: TransactionId, waiter: Waiter) {
        if self.calls.len() > SWEEP_ABOVE {
            let session = &mut self.session;
            self.calls.retain(|id, waiter| {
                let keep = !waiter.is_abandoned();
                if !keep {
                    session.forget(*id);
                }
                keep
            });
        }
        self.calls.insert(id, waiter);
    }

    fn wait_stream(&mut self, stream_id: u32, success_code: &'static str, reply: Reply<()>) {
        let waiter = StreamWaiter {
            success_code,
            reply,
        };
        if let Some(old) = self.streams.insert(stream_id, waiter) {
            let _ = old.reply.send(Err(ClientError::StreamFailed {
                stream_id,
                info: Box::new(StatusInfo::new(
                    LEVEL_ERROR,
                    "",
                    "replaced by a later publish or play",
                )),
            }));
        }
    }
}
