//! What one client can hold of the server (issue 15, item 1): at most
//! `MEDIMAIL_MAX_CONNECTIONS` connections at once (the next ones are closed as soon as
//! they are accepted), a connection whose client stops reading closed after
//! `MEDIMAIL_TRANSFER_IDLE_SECONDS`, and the time limits the listener applies
//! (`startup::serve`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Accepts a connection only while fewer than the limit are open; the connection holds
/// its place until it closes. A connection whose client stops reading (a write that
/// cannot proceed for `write_idle`) is closed: a download nobody reads holds nothing.
#[derive(Clone)]
pub struct Limited {
    places: Arc<Semaphore>,
    write_idle: std::time::Duration,
}

impl Limited {
    pub fn new(max_connections: usize, write_idle: std::time::Duration) -> Self {
        Self {
            places: Arc::new(Semaphore::new(max_connections.max(1))),
            write_idle,
        }
    }

    /// How many more connections would be accepted now.
    pub fn available(&self) -> usize {
        self.places.available_permits()
    }
}

impl<I, S> Accept<I, S> for Limited {
    type Stream = Counted<I>;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Counted<I>, S)>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        std::future::ready(match self.places.clone().try_acquire_owned() {
            Ok(place) => Ok((
                Counted {
                    inner: stream,
                    _place: place,
                    write_idle: self.write_idle,
                    stalled: None,
                },
                service,
            )),
            // Dropping the stream closes the connection at once.
            Err(_) => Err(io::Error::other("too many connections")),
        })
    }
}

/// A connection and its place among the open ones.
pub struct Counted<I> {
    inner: I,
    _place: OwnedSemaphorePermit,
    write_idle: std::time::Duration,
    /// Since the client stopped taking what is written: the deadline.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<I> Counted<I> {
    /// A write that could not proceed: pending until the deadline, then an error that
    /// closes the connection.
    fn wait_or_give_up<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let idle = self.write_idle;
        let deadline = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                tracing::info!(
                    seconds = idle.as_secs(),
                    "connection closed: the client stopped reading"
                );
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Counted<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Counted<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.wait_or_give_up(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending => self.wait_or_give_up(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.wait_or_give_up(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_holds_its_place_until_it_closes() {
        let limited = Limited::new(2, std::time::Duration::from_secs(60));
        let first = limited.accept((), ()).await.expect("first");
        let second = limited.accept((), ()).await.expect("second");
        assert!(
            limited.accept((), ()).await.is_err(),
            "the third is refused"
        );
        drop(first);
        assert_eq!(limited.available(), 1);
        assert!(limited.accept((), ()).await.is_ok(), "a place came free");
        drop(second);
    }
}
