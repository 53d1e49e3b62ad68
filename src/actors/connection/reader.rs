//! The socket's read side. Each read lands in one scratch buffer per
//! arbiter thread and is handed to the actor as a buffer of exactly the
//! bytes read, so a connection keeps no read buffer between reads (an idle
//! connection used to hold an 8 KB `FramedRead` buffer). The session decodes
//! from that buffer without copying it again and drops it once no incomplete
//! chunk is left (`ServerSession::handle_input_buf`).

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use actix::prelude::*;
use bytes::BytesMut;
use futures_util::Stream;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;
use tracing::debug;

use super::ConnectionActor;

/// Most bytes taken from the socket per read (the scratch buffer's size).
pub(super) const READ_SCRATCH_LEN: usize = 64 * 1024;

thread_local! {
    /// The arbiter thread's read buffer, shared by all its connections: a
    /// read is copied out of it before the next one can start.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_SCRATCH_LEN].into_boxed_slice());
}

/// The reads of one socket as a stream of exactly-sized buffers; ends after
/// end of file or the first error.
pub(super) struct SocketReader {
    half: OwnedReadHalf,
    done: bool,
}

impl SocketReader {
    /// Reads from `half`.
    pub(super) fn new(half: OwnedReadHalf) -> Self {
        Self { half, done: false }
    }
}

impl Stream for SocketReader {
    type Item = io::Result<BytesMut>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        let polled = SCRATCH.with_borrow_mut(|scratch| {
            let mut buf = ReadBuf::new(scratch);
            match Pin::new(&mut this.half).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => Poll::Ready(None),
                Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(BytesMut::from(buf.filled())))),
                Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                Poll::Pending => Poll::Pending,
            }
        });
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.done = true;
        }
        polled
    }
}

impl StreamHandler<io::Result<BytesMut>> for ConnectionActor {
    fn handle(&mut self, item: io::Result<BytesMut>, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        match item {
            Ok(bytes) => {
                self.last_input = Instant::now();
                self.deps.metrics.bytes_in.add(bytes.len() as u64);
                self.input(bytes, ctx);
            }
            Err(e) => {
                debug!(conn_id = self.id, error = %e, "read failed");
                ctx.stop();
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;

    use super::*;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn reads_come_out_in_order_as_buffers_of_exactly_their_bytes_then_the_stream_ends() {
        run(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let sent: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
            let to_send = sent.clone();
            let writer = tokio::spawn(async move {
                let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
                socket.write_all(&to_send).await.unwrap();
            });
            let (socket, _) = listener.accept().await.unwrap();
            let (read, _write) = socket.into_split();
            let mut reader = SocketReader::new(read);
            let mut got = Vec::new();
            while let Some(read) = reader.next().await {
                let read = read.unwrap();
                assert!(!read.is_empty() && read.len() <= READ_SCRATCH_LEN);
                assert_eq!(read.capacity(), read.len(), "no spare capacity kept");
                got.extend_from_slice(&read);
            }
            writer.await.unwrap();
            assert_eq!(got, sent);
            assert!(reader.next().await.is_none(), "stays ended");
        });
    }
}
