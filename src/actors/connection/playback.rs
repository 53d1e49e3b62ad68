//! The player side: draining this connection's player queues into the
//! session, and following the streams it plays (attach, publisher gone,
//! eviction).

use actix::prelude::*;
use bytes::Bytes;
use tracing::{debug, warn};

use super::{ConnectionActor, DRAIN_BATCH_BYTES};
use crate::actors::messages::{
    AddPlayer, Play, PlayerEvicted, PublisherLeft, QueueReady, StreamAttached,
};
use crate::actors::messages::{RemovePlayer, StopWaiting};
use crate::fanout::{FrameKind, PlayerQueue};
use crate::protocol::command::status;
use crate::protocol::session::MediaKind;

impl ConnectionActor {
    /// Live pause: detach from the stream (nothing queues up meanwhile); on
    /// resume, re-attach through the registry, which restarts playback at the
    /// stream's last keyframe (the GOP cache's join burst).
    pub(super) fn pause(&mut self, stream_id: u32, pause: Option<bool>) {
        let Some(playing) = self.playing.get_mut(&stream_id) else {
            return;
        };
        let pause = pause.unwrap_or(!playing.paused);
        if pause == playing.paused {
            return;
        }
        playing.paused = pause;
        let (key, player) = (playing.key.clone(), playing.player.clone());
        let player_id = player.player_id;
        match playing.stream.take() {
            Some(stream) => stream.do_send(RemovePlayer { player_id }),
            None => self.deps.registry.do_send(StopWaiting {
                key: key.clone(),
                player_id,
            }),
        }
        *player.queue.lock().unwrap_or_else(|p| p.into_inner()) =
            PlayerQueue::new(self.deps.fanout);
        if pause {
            let _ = self.session.send_stream_eof(stream_id);
            self.status(stream_id, status::NS_PAUSE_NOTIFY, format!("Paused {key}."));
        } else {
            let _ = self.session.send_stream_begin(stream_id);
            self.status(
                stream_id,
                status::NS_UNPAUSE_NOTIFY,
                format!("Resumed {key}."),
            );
            self.deps.registry.do_send(Play { key, player });
        }
    }
}

impl Handler<QueueReady> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: QueueReady, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        let Some(playing) = self.playing.get(&msg.stream_id) else {
            return;
        };
        if !self.outbox.ready_for_media() {
            // `WriterDrained` re-sends this once the socket has caught up.
            return;
        }
        let (frames, more) = {
            let mut queue = playing
                .player
                .queue
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let frames = queue.pop_batch(DRAIN_BATCH_BYTES);
            (frames, !queue.is_empty())
        };
        for frame in frames {
            let (stream_id, ts, payload): (u32, u32, &Bytes) =
                (msg.stream_id, frame.timestamp(), frame.payload());
            let sent = match frame.kind() {
                FrameKind::Audio => self
                    .session
                    .send_media(stream_id, MediaKind::Audio, ts, payload)
                    .map(|_| ()),
                FrameKind::Video => self
                    .session
                    .send_media(stream_id, MediaKind::Video, ts, payload)
                    .map(|_| ()),
                FrameKind::Data => self.session.send_data_raw(stream_id, ts, payload),
            };
            if let Err(e) = sent {
                debug!(conn_id = self.id, error = %e, "frame not sent");
            }
        }
        self.flush();
        if more {
            ctx.notify(msg);
        }
    }
}

impl Handler<StreamAttached> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: StreamAttached, _: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        let Some(playing) = self.playing.get_mut(&msg.stream_id).filter(|p| !p.paused) else {
            return;
        };
        playing.stream = Some(msg.stream.clone());
        let player = playing.player.clone();
        let description = format!("{} is now published.", playing.key);
        if msg.notify {
            let _ = self.session.send_stream_begin(msg.stream_id);
            self.status(msg.stream_id, status::NS_PLAY_PUBLISH_NOTIFY, description);
            self.flush();
        }
        msg.stream.do_send(AddPlayer(player));
    }
}

impl Handler<PublisherLeft> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: PublisherLeft, _: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        let Some(playing) = self.playing.get_mut(&msg.stream_id) else {
            return;
        };
        playing.stream = None;
        // A republished stream starts afresh: wait for its first keyframe.
        *playing
            .player
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = PlayerQueue::new(self.deps.fanout);
        let (key, player) = (playing.key.clone(), playing.player.clone());
        let _ = self.session.send_stream_eof(msg.stream_id);
        self.status(
            msg.stream_id,
            status::NS_PLAY_UNPUBLISH_NOTIFY,
            format!("{key} is now unpublished."),
        );
        self.flush();
        self.deps.registry.do_send(Play { key, player });
    }
}

impl Handler<PlayerEvicted> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: PlayerEvicted, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        warn!(conn_id = self.id, peer = %self.peer, reason = %msg.reason, "closing a player that fell too far behind");
        ctx.stop();
    }
}
