//! Turning the session's events into answers, [`Event`]s and SharedObject
//! updates.

use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use super::{Driver, Waiter};
use crate::client::error::ClientError;
use crate::client::events::{CallReply, Event};
use crate::client::ConnectInfo;
use crate::protocol::amf::AmfValue;
use crate::protocol::client::{ClientEvent, SoEvent, TransactionId};
use crate::protocol::command::status::LEVEL_ERROR;
use crate::protocol::command::StatusInfo;
use crate::protocol::shared_object::SharedObjectMessage;

impl Driver {
    pub(super) fn on_event(&mut self, event: ClientEvent) -> Result<(), ClientError> {
        match event {
            ClientEvent::HandshakeCompleted => {
                self.session.connect(&self.connect)?;
            }
            ClientEvent::Connected {
                properties,
                info,
                object_encoding,
            } => {
                if let Some(reply) = self.connect_reply.take() {
                    let _ = reply.send(Ok(ConnectInfo {
                        properties,
                        info,
                        object_encoding,
                    }));
                }
            }
            ClientEvent::ConnectRejected { info } => {
                return Err(ClientError::ConnectRejected { info });
            }
            ClientEvent::CallResult {
                transaction_id,
                ok,
                values,
                ..
            } => self.on_call_result(transaction_id, ok, values),
            ClientEvent::CallReceived {
                transaction_id,
                method,
                args,
                ..
            } => {
                let reply = CallReply::new(transaction_id, self.weak.clone());
                self.emit(Event::Call {
                    method: method.to_string(),
                    args,
                    reply,
                });
            }
            ClientEvent::Status { stream_id, info } => {
                self.on_status(stream_id, &info);
                self.emit(Event::Status { stream_id, info });
            }
            ClientEvent::StreamBegin { stream_id } => self.emit(Event::StreamBegin { stream_id }),
            ClientEvent::StreamEof { stream_id } => self.emit(Event::StreamEof { stream_id }),
            ClientEvent::Media {
                stream_id,
                kind,
                timestamp,
                payload,
            } => self.emit(Event::Media {
                stream_id,
                kind,
                timestamp,
                payload,
            }),
            ClientEvent::Data {
                stream_id,
                timestamp,
                values,
            } => self.emit(Event::Data {
                stream_id,
                timestamp,
                values,
            }),
            ClientEvent::SharedObject(message) => self.on_shared_object(&message),
            ClientEvent::Ignored {
                stream_id,
                type_id,
                reason,
            } => tracing::trace!(stream_id, type_id, reason, "ignored a server message"),
        }
        Ok(())
    }

    fn on_call_result(&mut self, transaction_id: TransactionId, ok: bool, values: Vec<AmfValue>) {
        let Some(waiter) = self.calls.remove(&transaction_id) else {
            return;
        };
        match waiter {
            Waiter::Call { method, reply } => {
                let result = if ok {
                    Ok(values)
                } else {
                    let info = values.into_iter().next().unwrap_or(AmfValue::Null);
                    Err(ClientError::CallFailed { method, info })
                };
                let _ = reply.send(result);
            }
            Waiter::CreateStream(reply) => {
                let id = values
                    .iter()
                    .find_map(AmfValue::as_f64)
                    .filter(|id| *id >= 1.0 && *id <= f64::from(u32::MAX));
                let result = match (ok, id) {
                    (true, Some(id)) => Ok(id as u32),
                    _ => Err(ClientError::CallFailed {
                        method: "createStream".into(),
                        info: values.into_iter().next().unwrap_or(AmfValue::Null),
                    }),
                };
                let _ = reply.send(result);
            }
        }
    }

    fn on_status(&mut self, stream_id: u32, info: &StatusInfo) {
        let Some(waiter) = self.streams.get(&stream_id) else {
            return;
        };
        let result = if &*info.level == LEVEL_ERROR {
            Err(ClientError::StreamFailed {
                stream_id,
                info: Box::new(info.clone()),
            })
        } else if &*info.code == waiter.success_code {
            Ok(())
        } else {
            return;
        };
        if let Some(waiter) = self.streams.remove(&stream_id) {
            let _ = waiter.reply.send(result);
        }
    }

    fn on_shared_object(&mut self, message: &SharedObjectMessage) {
        let Some(entry) = self.sos.get_mut(&*message.name) else {
            tracing::trace!(name = %message.name, "SharedObject message for an object not in use");
            return;
        };
        let events = entry.shared.apply(message);
        let mut refused = None;
        for event in events {
            match &event {
                SoEvent::Synced => {
                    if let Some(reply) = entry.use_reply.take() {
                        let _ = reply.send(Ok(()));
                    }
                }
                SoEvent::Status { code, level }
                    if level == LEVEL_ERROR && entry.use_reply.is_some() =>
                {
                    refused = Some(ClientError::SharedObjectRefused {
                        name: message.name.to_string(),
                        code: code.clone(),
                        level: level.clone(),
                    });
                }
                _ => {}
            }
            if entry.events.try_send(event).is_err() {
                entry.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(error) = refused {
            if let Some(entry) = self.sos.remove(&*message.name) {
                entry.shared.close();
                if let Some(reply) = entry.use_reply {
                    let _ = reply.send(Err(error));
                }
            }
        }
    }

    /// Queues an event for the user; see [`Events`](super::Events) for the
    /// policy when the queue is full.
    fn emit(&mut self, event: Event) {
        let Some(tx) = &self.events else {
            return self.unanswered(event);
        };
        match tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => {
                self.shared.dropped_events.fetch_add(1, Ordering::Relaxed);
                self.unanswered(event);
            }
            Err(mpsc::error::TrySendError::Closed(event)) => {
                self.events = None;
                self.unanswered(event);
            }
        }
    }

    /// Answers a call nobody will see with `_error`.
    fn unanswered(&mut self, event: Event) {
        if let Event::Call { mut reply, .. } = event {
            reply.disarm();
            let _ = self.session.reply_error(
                reply.transaction_id(),
                "",
                "the client does not handle calls",
            );
        }
    }
}
